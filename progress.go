package jifen

import "context"

// ProgressFunc hears how far a long operation (an import, an export) got.
type ProgressFunc func(done, total int)

type progressKey struct{}

// WithProgress lets a caller follow a long service call, e.g. to draw a
// progress bar on the terminal, without widening every interface.
func WithProgress(ctx context.Context, fn ProgressFunc) context.Context {
	return context.WithValue(ctx, progressKey{}, fn)
}

// ProgressFrom returns the progress callback in ctx, or one that ignores calls.
func ProgressFrom(ctx context.Context) ProgressFunc {
	if fn, ok := ctx.Value(progressKey{}).(ProgressFunc); ok {
		return fn
	}
	return func(int, int) {}
}
