package web

import (
	"net/http"

	"jifen"
)

// none is the body of a route that takes none.
type none struct{}

// optionalBody marks request types whose body may be left out entirely
// (signing oneself up, rejecting without a word).
type optionalBody interface{ optional() }

// endpoint turns one service call into an API handler, so that every route
// reads its caller, path id and body the same way: a signed-in caller
// (else 401); {id} when the path has one (an unreadable id is 404 for
// what); a JSON body decoded into In unless In is none (400 when it cannot
// be read); then fn's result written with status, or no body for 204.
func endpoint[In, Out any](s *Server, what string, status int, fn func(r *http.Request, id int64, in *In) (Out, error)) http.HandlerFunc {
	// Routes are registered as handle(route, endpoint(…)): the endpoint is
	// built first, so it leaves its status for handle to put on the route
	// (and the OpenAPI document to say).
	s.nextStatus = status
	return func(w http.ResponseWriter, r *http.Request) {
		if s.signedIn(w, r) == nil {
			return
		}
		var id int64
		if r.PathValue("id") != "" {
			var err error
			if id, err = pathID(r, "id"); err != nil {
				s.fail(w, r, jifen.NotFound(what))
				return
			}
		}
		in := new(In)
		var err error
		switch any(in).(type) {
		case *none:
		case optionalBody:
			err = decodeOptional(r, in)
		default:
			err = decode(r, in)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out, err := fn(r, id, in)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if status == http.StatusNoContent {
			w.WriteHeader(status)
			return
		}
		writeJSON(w, status, out)
	}
}
