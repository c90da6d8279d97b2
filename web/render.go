package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"jifen"
)

// parseTemplates parses every page together with the shared layout.
func (s *Server) parseTemplates() error {
	s.pages = map[string]*template.Template{}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", f)
		if err != nil {
			return fmt.Errorf("web: template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	return nil
}

// funcs are the template helpers. "t" is bound per request (it needs the
// language) by cloning nothing: the page data carries Lang and t reads it.
var funcs = template.FuncMap{
	"t":  func(lang, key string) string { return tr(lang, key) },
	"tf": func(lang, key string, args ...any) string { return trf(lang, key, args...) },
	"time": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(jifen.Zone).Format("2006-01-02 15:04")
	},
	"date": func(t time.Time) string { return t.In(jifen.Zone).Format("2006-01-02") },
	"kind": func(lang string, k jifen.OrgKind) string {
		if lang == "en" {
			return strings.ReplaceAll(string(k), "_", " ")
		}
		return k.Zh()
	},
	"role": func(lang string, r jifen.Role) string {
		if lang == "en" {
			return strings.ReplaceAll(string(r), "_", " ")
		}
		return r.Zh()
	},
	"political": func(lang string, p jifen.PoliticalStatus) string {
		if lang == "en" {
			return p.En()
		}
		return p.Zh()
	},
	"gender": func(lang string, g jifen.Gender) string {
		if lang == "en" {
			return g.En()
		}
		return g.Zh()
	},
	"maskPhone": jifen.MaskMobile,
	"status": func(lang string, st jifen.ActivityStatus) string {
		if lang == "en" {
			return st.En()
		}
		return st.Zh()
	},
	"deref":     func(p *int64) int64 { return *p },
	"derefTime": func(t *time.Time) time.Time { return *t },
	"local":     func(t time.Time) string { return t.In(jifen.Zone).Format("2006-01-02T15:04") },
	"timeSec":   func(t time.Time) string { return t.In(jifen.Zone).Format("15:04:05") },
	"clock":     func(t time.Time) string { return t.In(jifen.Zone).Format("01-02 15:04") },
	"hours":     jifen.HoursText,
	"stars": func(n int) string {
		return strings.Repeat("★", n) + strings.Repeat("☆", 5-n)
	},
	"join": strings.Join,
	"add":  func(a, b int) int { return a + b },
	"seq": func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = i + 1
		}
		return out
	},
	"indent": func(depth int) string { return strings.Repeat("　", depth) },
	"has": func(a *jifen.Actor, path string, roles ...string) bool {
		rs := make([]jifen.Role, len(roles))
		for i, r := range roles {
			rs[i] = jifen.Role(r)
		}
		return a.Has(path, rs...)
	},
	// holds reports whether the actor holds any of roles somewhere, so a
	// link shows only to those who can use the page behind it.
	"holds": func(a *jifen.Actor, roles ...string) bool {
		rs := make([]jifen.Role, len(roles))
		for i, r := range roles {
			rs[i] = jifen.Role(r)
		}
		paths, all := a.ScopePaths(rs...)
		return all || len(paths) > 0
	},
}

// page is the data every template gets besides its own.
type page struct {
	Lang   string
	Actor  *jifen.Actor
	CSRF   string
	Path   string
	Flash  string
	Unread int
	Staff  bool
	// PointsStaff runs points somewhere: an org admin or a reviewer.
	PointsStaff bool
	// StoreAdmin administers an org, and so may run its stores.
	StoreAdmin bool
	Title      string
	D          map[string]any
}

// render writes a page. Templates render into a buffer first so a
// template error becomes a clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name string, data map[string]any) {
	t, ok := s.pages[name]
	if !ok {
		s.log.Error("missing template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if data == nil {
		data = map[string]any{}
	}
	// Templates compare these with eq, which refuses a missing value.
	for _, k := range []string{"Field", "Form", "Error"} {
		if _, ok := data[k]; !ok {
			data[k] = ""
		}
	}
	lang := langOf(r)
	p := page{Lang: lang, Actor: jifen.ActorFrom(r.Context()), Path: pagePath(r), D: data}
	p.CSRF, _ = r.Context().Value(csrfKey).(string)
	if done := r.URL.Query().Get("done"); done != "" {
		if _, ok := catalog["flash."+done]; ok {
			p.Flash = tr(lang, "flash."+done)
		}
	}
	if p.Actor != nil {
		p.Unread, _ = s.svc.Messages.UnreadCount(r.Context())
		paths, all := p.Actor.ScopePaths(jifen.StaffRoles...)
		p.Staff = all || len(paths) > 0
		paths, all = p.Actor.ScopePaths(jifen.RoleOrgAdmin, jifen.RoleReviewer)
		p.PointsStaff = all || len(paths) > 0
		paths, all = p.Actor.ScopePaths(jifen.RoleOrgAdmin)
		p.StoreAdmin = all || len(paths) > 0
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.Error("render", "template", name, "err", err, "id", requestID(r.Context()))
		http.Error(w, tr(lang, "error.internal"), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", map[string]string{"zh": "zh-CN", "en": "en"}[lang])
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// redirect answers a successful form post (post/redirect/get).
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// pagePath is the address of the page being shown, for the language
// switch to come back to. A form that failed is shown again in answer to
// its POST, whose address is no page (the switch led to "not found"):
// then it is the page the form was on, from a same-site Referer, or home.
func pagePath(r *http.Request) string {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return r.URL.RequestURI()
	}
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && safeNext(ref.RequestURI()) {
		return ref.RequestURI()
	}
	return "/"
}

// trf translates a UI key that takes numbers. English says "1 appeal",
// not "1 appeals": a plural noun right after a %d that is 1 loses its s.
func trf(lang, key string, args ...any) string {
	format := tr(lang, key)
	if lang == "en" {
		format = singular(format, args)
	}
	return fmt.Sprintf(format, args...)
}

// singular rewrites an English format so that the noun after each %d
// whose argument is 1 or -1 is singular ("entries" → "entry", "lines" →
// "line").
func singular(format string, args []any) string {
	var out strings.Builder
	arg := 0
	for i := 0; i < len(format); i++ {
		out.WriteByte(format[i])
		if format[i] != '%' || i+1 >= len(format) {
			continue
		}
		// Flags and a width ("%5d") come before the verb.
		for i+1 < len(format) && strings.IndexByte("+-# 0123456789.", format[i+1]) >= 0 {
			i++
			out.WriteByte(format[i])
		}
		if i+1 >= len(format) {
			break
		}
		verb := format[i+1]
		out.WriteByte(verb)
		i++
		if verb == '%' {
			continue
		}
		one := false
		if arg < len(args) {
			switch n := args[arg].(type) {
			case int:
				one = n == 1 || n == -1
			case int64:
				one = n == 1 || n == -1
			}
		}
		arg++
		if verb != 'd' || !one || i+1 >= len(format) || format[i+1] != ' ' {
			continue
		}
		end := i + 2
		for end < len(format) && format[end] >= 'a' && format[end] <= 'z' {
			end++
		}
		word := format[i+2 : end]
		switch {
		case strings.HasSuffix(word, "ies") && len(word) > 3:
			word = strings.TrimSuffix(word, "ies") + "y"
		case strings.HasSuffix(word, "s") && !strings.HasSuffix(word, "ss") && len(word) > 1:
			word = strings.TrimSuffix(word, "s")
		}
		out.WriteString(" " + word)
		i = end - 1
	}
	return out.String()
}
