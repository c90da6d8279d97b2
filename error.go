// Package jifen holds the domain of the civility-points and volunteer-service
// platform: the types, the service interfaces and the validation of values.
// It imports nothing else of this module, so the storage and web layers can
// both depend on it without depending on each other.
package jifen

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller should do about it; the web
// layer maps each kind to one HTTP status in one place.
type Kind string

// The kinds of error. Every error that reaches a user has one of them.
const (
	KindMalformed    Kind = "malformed"    // the request could not be read at all (400)
	KindUnauthorized Kind = "unauthorized" // not signed in (401)
	KindForbidden    Kind = "forbidden"    // signed in, but not allowed (403)
	KindNotFound     Kind = "not_found"    // no such thing, or not visible to the caller (404)
	KindConflict     Kind = "conflict"     // a business rule refuses it (409)
	KindTooLarge     Kind = "too_large"    // body over the limit (413)
	KindInvalid      Kind = "invalid"      // a value fails validation (422)
	KindTooMany      Kind = "too_many_requests"
	// KindUnavailable: not ready yet, through no fault; asked again in a
	// moment, it will be (503, with Retry-After).
	KindUnavailable Kind = "unavailable"
	KindInternal    Kind = "internal" // our fault; details are logged, never shown
)

// Error is the one error type of jifen. Code is the stable machine-readable
// code integrators match on (for example "phone_taken"); Zh and En are the
// message fit to show a person, in Simplified Chinese and English.
type Error struct {
	Kind  Kind
	Code  string
	Field string
	Zh    string
	En    string
	Err   error // the underlying cause, for logs only
}

func (e *Error) Error() string {
	msg := e.En
	if msg == "" {
		msg = e.Zh
	}
	s := e.Code
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	if msg != "" {
		s += ": " + msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Message returns the user-facing message in the given language ("zh" or "en").
func (e *Error) Message(lang string) string {
	if lang == "en" && e.En != "" {
		return e.En
	}
	if e.Zh != "" {
		return e.Zh
	}
	return e.En
}

// Errorf builds an Error; code defaults to the kind's name.
func Errorf(kind Kind, code, field, zh, en string) *Error {
	if code == "" {
		code = string(kind)
	}
	return &Error{Kind: kind, Code: code, Field: field, Zh: zh, En: en}
}

// Invalid reports a value that fails validation in the named field.
func Invalid(field, zh, en string) *Error {
	return &Error{Kind: KindInvalid, Code: "invalid", Field: field, Zh: zh, En: en}
}

// Conflict reports a business rule that refuses the request.
func Conflict(code, zh, en string) *Error {
	return &Error{Kind: KindConflict, Code: code, Zh: zh, En: en}
}

// ErrForbidden is returned when the actor may not do what they asked.
var ErrForbidden = &Error{Kind: KindForbidden, Code: "forbidden", Zh: "您没有权限进行此操作", En: "You are not allowed to do this"}

// ErrUnauthorized is returned when nobody is signed in.
var ErrUnauthorized = &Error{Kind: KindUnauthorized, Code: "unauthorized", Zh: "请先登录", En: "Please sign in first"}

// NotFound reports that a thing does not exist or is not visible to the caller.
// Both cases look the same on purpose: a probe must not learn which it was.
func NotFound(what string) *Error {
	return &Error{Kind: KindNotFound, Code: "not_found", Zh: "未找到" + whatZh[what], En: what + " not found"}
}

var whatZh = map[string]string{"org": "该组织", "person": "该人员", "session": "会话", "message": "该消息", "code": "该验证码",
	"grant": "该角色", "activity": "该活动", "project": "该项目", "record": "该服务记录", "attendance": "该签到记录",
	"transfer": "该转接申请", "certificate": "该证明", "request": "该申请", "page": "该页面", "upload": "该文件",
	"store": "该积分超市或商户", "item": "该商品", "redemption": "该兑换记录", "household": "该户", "rule": "该积分规则",
	"award": "该积分记录", "appeal": "该异议", "photo": "该照片", "transaction": "该账务记录"}

// Internal wraps an unexpected error; the user sees a generic message.
func Internal(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: KindInternal, Code: "internal", Zh: "系统繁忙，请稍后再试", En: "Something went wrong; please try again later", Err: err}
}

// AsError returns err as an *Error, wrapping unknown errors as internal.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	return Internal(err)
}

// ErrorKind returns the kind of err, KindInternal for foreign errors.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// ErrorCode returns the code of err, "internal" for foreign errors.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "internal"
}

// Wrapf adds context to an internal error without hiding an *Error.
func Wrapf(err error, format string, args ...any) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// ErrorMessage returns err's message in lang for a person to read; a
// foreign error reads as a generic one.
func ErrorMessage(err error, lang string) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message(lang)
	}
	if lang == "en" {
		return "Something went wrong"
	}
	return "系统错误"
}
