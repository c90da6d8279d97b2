-- The messages jifen writes itself say the same in English, shown to
-- those who chose English. Messages written before, and those staff type,
-- have none and show as written.
ALTER TABLE messages ADD COLUMN title_en TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN body_en TEXT NOT NULL DEFAULT '';
