package jifen

import "context"

// UploadService keeps an uploaded file between a preview and its
// confirmation. It lives in the database, so the confirming request may
// reach another instance than the one that took the upload.
type UploadService interface {
	SaveUpload(ctx context.Context, name string, data []byte) (int64, error)
	// Upload returns an upload of the actor's own.
	Upload(ctx context.Context, id int64) (name string, data []byte, err error)
}
