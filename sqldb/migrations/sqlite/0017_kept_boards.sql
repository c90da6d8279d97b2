-- A public board that is slow to make (a county's: 21–26 s at 1 M people)
-- is kept here, so that a restart or a second server shows it at once
-- instead of making it again (board.go). The row of org 0 holds the
-- generation: a write that changes what boards may show (an erasure, a
-- change of points settings) moves it on and deletes the kept boards, and
-- a board is kept and shown only under the generation it began in.
CREATE TABLE kept_boards (
    org_id INTEGER PRIMARY KEY,
    generation INTEGER NOT NULL,
    made_at TIMESTAMP NOT NULL,
    body TEXT NOT NULL
);
INSERT INTO kept_boards (org_id, generation, made_at, body) VALUES (0, 1, CURRENT_TIMESTAMP, '');

-- The boards leave out people erased on request; their few rows are
-- counted from this index (ranking).
CREATE INDEX people_erased ON people(id) WHERE status = 'erased';
