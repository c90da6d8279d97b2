package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"jifen"
)

// UploadService implements jifen.UploadService.
type UploadService struct{ db *DB }

// NewUploadService returns the upload service on db.
func NewUploadService(db *DB) *UploadService { return &UploadService{db} }

// uploadLifetime bounds how long a previewed file waits for confirmation.
const uploadLifetime = 24 * time.Hour

// SaveUpload stores a file for the actor and drops their stale ones.
func (s *UploadService) SaveUpload(ctx context.Context, name string, data []byte) (int64, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return 0, jifen.ErrUnauthorized
	}
	var id int64
	err := s.db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, "DELETE FROM uploads WHERE created_at < ?", s.db.now().Add(-uploadLifetime)); err != nil {
			return err
		}
		var err error
		id, err = tx.insert(ctx, "INSERT INTO uploads (person_id, name, data, created_at) VALUES (?, ?, ?, ?)", a.PersonID, name, data, s.db.now())
		return err
	})
	return id, err
}

// Upload returns one of the actor's own uploads.
func (s *UploadService) Upload(ctx context.Context, id int64) (string, []byte, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return "", nil, jifen.ErrUnauthorized
	}
	var name string
	var data []byte
	err := s.db.queryRow(ctx, "SELECT name, data FROM uploads WHERE id = ? AND person_id = ? AND created_at > ?", id, a.PersonID, s.db.now().Add(-uploadLifetime)).Scan(&name, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, jifen.Errorf(jifen.KindNotFound, "not_found", "", "上传的文件已过期，请重新上传", "The upload has expired; please upload again")
	}
	return name, data, err
}
