package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"unicode/utf8"

	"jifen"
)

// MessageService implements jifen.MessageService.
type MessageService struct{ db *DB }

// NewMessageService returns the inbox service on db.
func NewMessageService(db *DB) *MessageService { return &MessageService{db} }

// text is something jifen says, in Chinese and in English.
type text struct{ zh, en string }

// say is a text in both languages.
func say(zh, en string) text { return text{zh, en} }

// pointsEn is a number of points in English: "1 point", "5 points".
func pointsEn(n int64) string {
	if n == 1 || n == -1 {
		return fmt.Sprintf("%d point", n)
	}
	return fmt.Sprintf("%d points", n)
}

// sendMessage writes to an inbox inside the transaction of the event it
// reports, so nobody is told of something that did not happen. What jifen
// writes itself is kept in both languages; the inbox shows the reader's.
func (t *Tx) sendMessage(ctx context.Context, personID int64, title, body text) error {
	t.insertLater("messages", "person_id, title, body, title_en, body_en, created_at", personID, title.zh, body.zh, title.en, body.en, t.db.now())
	return nil
}

// Messages lists the actor's own inbox.
func (s *MessageService) Messages(ctx context.Context, page, perPage int) ([]*jifen.Message, int, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, 0, jifen.ErrUnauthorized
	}
	page, perPage = jifen.Paging(page, perPage, 20, 100)
	var total int
	if err := s.db.queryRow(ctx, "SELECT COUNT(*) FROM messages WHERE person_id = ?", a.PersonID).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.query(ctx, "SELECT id, person_id, title, body, title_en, body_en, created_at, read_at FROM messages WHERE person_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
		a.PersonID, perPage, (page-1)*perPage)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []*jifen.Message{}
	for rows.Next() {
		m := &jifen.Message{}
		var read sql.NullTime
		if err := rows.Scan(&m.ID, &m.PersonID, &m.Title, &m.Body, &m.TitleEn, &m.BodyEn, &m.CreatedAt, &read); err != nil {
			return nil, 0, err
		}
		m.CreatedAt = m.CreatedAt.In(jifen.Zone)
		if read.Valid {
			t := read.Time.In(jifen.Zone)
			m.ReadAt = &t
		}
		out = append(out, m)
	}
	return out, total, rows.Err()
}

// UnreadCount counts the actor's unread messages.
func (s *MessageService) UnreadCount(ctx context.Context) (int, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return 0, jifen.ErrUnauthorized
	}
	var n int
	err := s.db.queryRow(ctx, "SELECT COUNT(*) FROM messages WHERE person_id = ? AND read_at IS NULL", a.PersonID).Scan(&n)
	return n, err
}

// MarkRead marks one of the actor's messages read.
func (s *MessageService) MarkRead(ctx context.Context, id int64) error {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return jifen.ErrUnauthorized
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, "UPDATE messages SET read_at = ? WHERE id = ? AND person_id = ? AND read_at IS NULL", s.db.now(), id, a.PersonID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var owner int64
			if err := tx.queryRow(ctx, "SELECT person_id FROM messages WHERE id = ?", id).Scan(&owner); errors.Is(err, sql.ErrNoRows) || owner != a.PersonID {
				return jifen.NotFound("message")
			}
		}
		return nil
	})
}

// SendMessage lets staff write to a person in their scope.
func (s *MessageService) SendMessage(ctx context.Context, personID int64, title, body string) error {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return jifen.ErrUnauthorized
	}
	title, body = jifen.CleanText(title), jifen.CleanText(body)
	if err := jifen.CheckName("title", title, 60); err != nil {
		return err
	}
	if body == "" || utf8.RuneCountInString(body) > 2000 {
		return jifen.Invalid("body", "内容不能为空且不超过2000字", "The text must be 1 to 2000 characters")
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		p, err := s.db.getPerson(ctx, tx.tx, personID)
		if err != nil {
			return err
		}
		if !a.Has(p.path, jifen.StaffRoles...) {
			return jifen.NotFound("person")
		}
		// Typed by staff: shown as written in either language.
		if err := tx.sendMessage(ctx, personID, say(title, ""), say(body, "")); err != nil {
			return err
		}
		return tx.audit(ctx, p.HomeOrgID, p.path, "message.send", "person", personID, title)
	})
}
