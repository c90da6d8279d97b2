package web

import (
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// openAPI serves an OpenAPI 3.1 document generated from the route table,
// so the document and the router cannot drift apart; a test checks that
// every API route the server answers is in it.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.OpenAPI())
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// OpenAPI builds the document.
func (s *Server) OpenAPI() map[string]any {
	paths := map[string]any{}
	for _, rt := range s.routes {
		if !rt.API {
			continue
		}
		op := map[string]any{
			"summary":     rt.Summary,
			"operationId": strings.ToLower(rt.Method) + strings.NewReplacer("/api/v1", "", "/", "_", "{", "", "}", "", ".", "_").Replace(rt.Path),
			"responses":   responses(rt),
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "integer"}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.Body != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": schema(reflect.TypeOf(rt.Body))}}}
		}
		if !rt.Public {
			op["security"] = []any{map[string]any{"bearer": []any{}}}
		}
		item, _ := paths[rt.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.Path] = item
		}
		item[strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "jifen API", "version": "1",
			"description": "Volunteer service and civility points. Errors are {\"error\":{\"code\",\"message\",\"field\"}}; lists are {\"items\",\"total\",\"page\",\"per_page\"}; times are RFC 3339 with an offset."},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas": map[string]any{"Error": map[string]any{"type": "object", "properties": map[string]any{
				"error": map[string]any{"type": "object", "properties": map[string]any{
					"code": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}, "field": map[string]any{"type": "string"}}}}}},
		},
	}
}

func responses(rt Route) map[string]any {
	ok := "200"
	if rt.Method == "POST" {
		ok = "201"
	}
	if rt.Method == "DELETE" {
		ok = "204"
	}
	if rt.Status != 0 {
		ok = strconv.Itoa(rt.Status)
	}
	out := map[string]any{}
	okResp := map[string]any{"description": "OK"}
	if rt.Resp != nil {
		okResp["content"] = map[string]any{"application/json": map[string]any{"schema": schema(reflect.TypeOf(rt.Resp))}}
	}
	out[ok] = okResp
	errRef := map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
	for code, desc := range map[string]string{"400": "Malformed request", "401": "Not signed in", "403": "Not allowed", "404": "Not found or not visible", "409": "Business conflict", "422": "Invalid value", "429": "Too many attempts", "503": "Not ready yet (a board being counted up): ask again after Retry-After seconds"} {
		e := map[string]any{"description": desc}
		for k, v := range errRef {
			e[k] = v
		}
		out[code] = e
	}
	return out
}

var timeType = reflect.TypeOf(time.Time{})

// schema describes a Go type as JSON Schema, following its json tags.
func schema(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"} // encoding/json's base64
		}
		return map[string]any{"type": "array", "items": schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object"}
	case reflect.Struct:
		props := map[string]any{}
		addFields(t, props)
		return map[string]any{"type": "object", "properties": props}
	}
	return map[string]any{}
}

func addFields(t reflect.Type, props map[string]any) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(ft, props)
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = schema(f.Type)
	}
}
