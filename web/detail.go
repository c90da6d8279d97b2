package web

import (
	"fmt"
	"net/http"
)

// detail is a page about one thing named by {id} in the path: shown,
// shown again with a form's error beside its field, and the page that
// one-button actions return to. Org, person, activity and console pages
// are all built this way.
type detail struct {
	s    *Server
	name string // the template
	path string // the page's address, with %d for the id
	data func(r *http.Request, id int64) (map[string]any, error)
}

func (d detail) show(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		d.s.fail(w, r, err)
		return
	}
	data, err := d.data(r, id)
	if err != nil {
		d.s.fail(w, r, err)
		return
	}
	d.s.render(w, r, http.StatusOK, d.name, data)
}

// failWith shows the page again with err, plus extra data for the template
// (which form to open, say).
func (d detail) failWith(w http.ResponseWriter, r *http.Request, id int64, err error, extra map[string]any) {
	data, derr := d.data(r, id)
	if derr != nil {
		d.s.fail(w, r, derr)
		return
	}
	for k, v := range extra {
		data[k] = v
	}
	d.s.formFail(w, r, d.name, data, err)
}

func (d detail) fail(w http.ResponseWriter, r *http.Request, id int64, err error) {
	d.failWith(w, r, id, err, nil)
}

// action is a form post on the page: it runs fn, then returns to the page
// with the flash fn names, or shows the page again with the error.
func (d detail) action(fn func(r *http.Request, id int64) (done string, err error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if d.s.signedIn(w, r) == nil {
			return
		}
		id, err := pathID(r, "id")
		if err != nil {
			d.s.fail(w, r, err)
			return
		}
		done, err := fn(r, id)
		if err != nil {
			d.fail(w, r, id, err)
			return
		}
		redirect(w, r, fmt.Sprintf(d.path, id)+"?done="+done)
	}
}

// then adapts a plain action with a fixed flash.
func then(done string, fn func(r *http.Request, id int64) error) func(*http.Request, int64) (string, error) {
	return func(r *http.Request, id int64) (string, error) { return done, fn(r, id) }
}

// reply is a form post whose answer is shown once on the page itself (a
// one-time code, a revealed ID number) instead of after a redirect, so it
// never lands in history or a reload.
func (d detail) reply(fn func(r *http.Request, id int64) (map[string]any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if d.s.signedIn(w, r) == nil {
			return
		}
		id, err := pathID(r, "id")
		if err != nil {
			d.s.fail(w, r, err)
			return
		}
		extra, err := fn(r, id)
		if err != nil {
			d.fail(w, r, id, err)
			return
		}
		data, err := d.data(r, id)
		if err != nil {
			d.s.fail(w, r, err)
			return
		}
		for k, v := range extra {
			data[k] = v
		}
		d.s.render(w, r, http.StatusOK, d.name, data)
	}
}
