package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/text/language"
)

// langOf picks the person's language: their explicit choice (cookie), then
// the browser's Accept-Language, then Chinese. Every Chinese tag, including
// zh-HK and zh-TW, gets Chinese: the UI is written in Simplified Chinese
// and that serves Hong Kong and Taiwan readers far better than English.
func langOf(r *http.Request) string {
	if v, ok := r.Context().Value(langKey).(string); ok {
		return v
	}
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == "zh" || c.Value == "en") {
		return c.Value
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err == nil {
		for _, t := range tags {
			base, _ := t.Base()
			switch base.String() {
			case "zh":
				return "zh"
			case "en":
				return "en"
			}
		}
	}
	return "zh"
}

// setLang stores the choice from the language switch and goes back.
func (s *Server) setLang(w http.ResponseWriter, r *http.Request) {
	lang := r.PathValue("lang")
	if lang != "zh" && lang != "en" {
		lang = "zh"
	}
	s.setCookie(w, langCookie, lang, 365*24*time.Hour)
	next := r.URL.Query().Get("next")
	if !safeNext(next) {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// safeNext accepts only local paths as redirect targets.
func safeNext(next string) bool {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') {
		return false
	}
	// Browsers drop tabs and newlines inside URLs: "/\t/evil" becomes "//evil".
	for _, r := range next {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	u, err := url.Parse(next)
	return err == nil && u.Scheme == "" && u.Host == ""
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// tr translates a UI key; a missing key shows itself, which tests catch.
func tr(lang, key string) string {
	m, ok := catalog[key]
	if !ok {
		return key
	}
	if lang == "en" {
		return m[1]
	}
	return m[0]
}
