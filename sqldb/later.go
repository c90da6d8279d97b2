package sqldb

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"

	"jifen"
)

// Rows written later. Some rows a write adds are never read back by the
// write that adds them: its audit line, the person's message, the ledger
// postings and the sealing queue entry, the report roll-ups, a sale's
// stock movements, the credits to balances. A transaction keeps them in
// memory and writes them just before it commits, one multi-row statement
// per table (on PostgreSQL all of them as one statement); a group of
// writes (group.go) writes them once for the whole group. Nothing can
// read around them: a statement that names one of these tables first
// writes what is waiting.
//
// In a group each write runs in its own savepoint. What a write leaves for
// later joins the group's rows when it succeeds and is dropped when it
// fails. If a failing write had caused earlier writes' rows to be written
// (its statement named their table), its rollback takes them out of the
// database again, so they go back to waiting.

// laterTables are the tables whose rows may wait. A statement that
// names one of them writes first what waits for it (beforeStatement); a
// row that refers to a waiting row (a foreign key) waits too, so no
// statement meets a reference to a row not yet written. The ledger's
// transactions and the awards wait only for an award in a group, which
// then sends no statement of its own (Tx.defersRows); a sale's ledger
// transaction, its row and its lines always wait (redeem).
//
// They are written in this order, a table before those whose rows refer
// to it, whatever order the rows came in: a group's first write may be a
// sale, whose postings wait, and a later award's ledger transaction, which
// its postings refer to, comes after them. A sale refers to its ledger
// transaction, its lines and stock movements to the sale.
var laterTables = []string{"ledger_transactions", "awards", "award_evidence", "redemptions", "redemption_lines", "postings", "unsealed",
	"stock_movements", "audit_log", "messages", "accounts", "report_months", "report_stores", "report_stars"}

// defersRows tells whether an award's own rows (its ledger transaction,
// the award, its evidence), whose ids it knows ahead, wait too: in a
// group, whose awards then send no statement each, and whose rows go as
// one multi-row statement per table at the group's end. A duplicate key
// among them fails the group's end, and the group's writes run again
// alone (group.go), where the duplicate is answered as usual. On
// PostgreSQL an award group's write run alone defers its rows too
// (committer.defers), so that it takes its locks in a group's order.
func (t *Tx) defersRows() bool {
	return t.grouped || t.defers
}

// nextID hands out the next id of table on SQLite, whose one writer is
// the only one adding rows while its transaction lasts: the first id
// reads MAX(id), as SQLite itself would, and the rest count on in
// memory, so rows waiting for the end need no statement to get theirs. A
// statement naming the table may add rows by itself: beforeStatement
// then marks the count stale, and the next id reads MAX(id) again. That
// statement names the table too, so rows of it still waiting (given ids
// before, or waiting again after a failed write's rollback) are written
// first and counted.
func (t *Tx) nextID(ctx context.Context, table string) (int64, error) {
	d, ok := t.drawn[table]
	if !ok || d.stale {
		if err := t.queryRow(ctx, "SELECT COALESCE(MAX(id), 0) FROM "+table).Scan(&d.last); err != nil {
			return 0, err
		}
	}
	d.last++
	d.stale = false
	if t.drawn == nil {
		t.drawn = map[string]drawnID{}
	}
	t.drawn[table] = d
	return d.last, nil
}

// aheadID is an id for a row of b's table that waits (later rows) and
// that other rows refer to before it is written: on PostgreSQL the next
// of the process's block, on SQLite the writer's count.
func (t *Tx) aheadID(ctx context.Context, b *idBlock) (int64, error) {
	if t.db.dialect.name() == "postgres" {
		return b.next(ctx, t)
	}
	return t.nextID(ctx, b.table)
}

// drawnID is the last id nextID handed out for a table; stale when a
// statement may have added rows since.
type drawnID struct {
	last  int64
	stale bool
}

// laterBit is a table's bit in a statementFlag.
func laterBit(table string) statementFlag {
	i := slices.Index(laterTables, table)
	if i < 0 {
		panic("sqldb: rows of " + table + " wait, but it is not in laterTables")
	}
	return 1 << i
}

// later is what a transaction (or a group) has left to write.
type later struct {
	tallies
	rows []*laterRows
	// credits are additions to spendable accounts' balances and scores,
	// by account: a credit cannot fail, so it waits like a row, and a
	// store's account, credited by every sale, is locked only for the
	// commit.
	credits map[int64]*credit
}

type credit struct{ amount, score int64 }

// laterRows are rows of one table with one column list, in order.
type laterRows struct {
	table, cols string
	bit         statementFlag
	width       int
	args        []any
	// names are cols split, once, for waitingRow.
	names []string
}

// columns are the rows' column names.
func (r *laterRows) columns() []string {
	if r.names == nil {
		r.names = strings.Split(r.cols, ",")
		for i := range r.names {
			r.names[i] = strings.TrimSpace(r.names[i])
		}
	}
	return r.names
}

func (l *later) empty() bool {
	return len(l.rows) == 0 && len(l.months) == 0 && len(l.stores) == 0 && len(l.stars) == 0 && len(l.credits) == 0
}

// tables are the bits of the tables l has rows or changes waiting for.
func (l *later) tables() statementFlag {
	var m statementFlag
	for _, r := range l.rows {
		m |= r.bit
	}
	if len(l.credits) > 0 {
		m |= bitAccounts
	}
	if len(l.months) > 0 {
		m |= bitReportMonths
	}
	if len(l.stores) > 0 {
		m |= bitReportStores
	}
	if len(l.stars) > 0 {
		m |= bitReportStars
	}
	return m
}

// The bits of the tables that credits and roll-ups wait for.
var bitAccounts, bitReportMonths, bitReportStores, bitReportStars = laterBit("accounts"), laterBit("report_months"), laterBit("report_stores"), laterBit("report_stars")

func (l *later) credit(account, amount, score int64) {
	if l.credits == nil {
		l.credits = map[int64]*credit{}
	}
	if c := l.credits[account]; c != nil {
		c.amount += amount
		c.score += score
	} else {
		l.credits[account] = &credit{amount, score}
	}
}

// credited tells whether a credit to account waits.
func (l *later) credited(account int64) bool {
	_, ok := l.credits[account]
	return ok
}

// waitingRow is the first row of table waiting in l whose columns hold
// the values of match (a column, its value, the next column…), as values
// by column; nil if none. It lets a write in a group see its earlier
// writes' rows without writing them first.
func (l *later) waitingRow(table string, match ...any) map[string]any {
	for _, r := range l.rows {
		if r.table != table {
			continue
		}
		cols := r.columns()
	rows:
		for at := 0; at+r.width <= len(r.args); at += r.width {
			row := r.args[at : at+r.width]
			for k := 0; k+1 < len(match); k += 2 {
				i := slices.Index(cols, match[k].(string))
				if i < 0 || row[i] != match[k+1] {
					continue rows
				}
			}
			out := make(map[string]any, len(cols))
			for i, c := range cols {
				out[c] = row[i]
			}
			return out
		}
	}
	return nil
}

// add appends another's rows and tallies to l.
func (l *later) add(o *later) {
	for _, r := range o.rows {
		l.append(r.table, r.cols, r.width, r.args)
	}
	for k, d := range o.months {
		if l.months == nil {
			l.months = map[monthKey]*jifen.Tally{}
		}
		if cur := l.months[k]; cur != nil {
			cur.Add(*d)
		} else {
			c := *d
			l.months[k] = &c
		}
	}
	for id, c := range o.credits {
		l.credit(id, c.amount, c.score)
	}
	for k, open := range o.opens {
		if l.opens == nil {
			l.opens = map[monthKey]int64{}
		}
		if _, ok := l.opens[k]; !ok {
			l.opens[k] = open
		}
	}
	for k, d := range o.stores {
		if l.stores == nil {
			l.stores = map[storeKey]*storeTally{}
		}
		if cur := l.stores[k]; cur != nil {
			cur.sales += d.sales
			cur.points += d.points
			cur.refunded += d.refunded
		} else {
			c := *d
			l.stores[k] = &c
		}
	}
	for k, n := range o.stars {
		if l.stars == nil {
			l.stars = map[starKey]int64{}
		}
		l.stars[k] += n
	}
}

// people are those the waiting awards are to and those the waiting
// messages go to.
func (l *later) people() (awardees, addressees []int64) {
	for _, r := range l.rows {
		var to *[]int64
		switch r.table {
		case "awards":
			to = &awardees
		case "messages":
			to = &addressees
		default:
			continue
		}
		for i := slices.Index(r.columns(), "person_id"); i < len(r.args); i += r.width {
			if id, ok := r.args[i].(int64); ok {
				*to = append(*to, id)
			}
		}
	}
	return awardees, addressees
}

// withoutMessagesTo is rows with the messages to the people given left
// out. The rows themselves are left as they are: if the write fails they
// wait again (group.go).
func withoutMessagesTo(rows []*laterRows, people map[int64]bool) []*laterRows {
	for k, r := range rows {
		if r.table != "messages" {
			continue
		}
		to := slices.Index(r.columns(), "person_id")
		kept := &laterRows{table: r.table, cols: r.cols, bit: r.bit, width: r.width}
		for i := 0; i < len(r.args); i += r.width {
			if id, _ := r.args[i+to].(int64); !people[id] {
				kept.args = append(kept.args, r.args[i:i+r.width]...)
			}
		}
		rows[k] = kept
	}
	return slices.DeleteFunc(rows, func(r *laterRows) bool { return len(r.args) == 0 })
}

func (l *later) append(table, cols string, width int, args []any) {
	for _, r := range l.rows {
		if r.table == table && r.cols == cols {
			r.args = append(r.args, args...)
			return
		}
	}
	l.rows = append(l.rows, &laterRows{table: table, cols: cols, bit: laterBit(table), width: width, args: append([]any(nil), args...)})
}

// insertLater leaves a row of table for the end of the transaction.
func (t *Tx) insertLater(table, cols string, args ...any) {
	t.pending.append(table, cols, len(args), args)
}

// statementFlag says what a statement text touches: one bit for each of
// laterTables it names, and flagWritesConfig. The answer is kept per text.
type statementFlag uint32

// flagWritesConfig marks a statement that writes a table of the config
// cache (cache.go).
const flagWritesConfig statementFlag = 1 << 31

func (db *DB) statementFlags(query string) statementFlag {
	db.rebindMu.RLock()
	v, ok := db.flags[query]
	db.rebindMu.RUnlock()
	if ok {
		return v
	}
	for i, table := range laterTables {
		if strings.Contains(query, table) {
			v |= 1 << i
		}
	}
	if writesConfig(query) {
		v |= flagWritesConfig
	}
	db.rebindMu.Lock()
	if db.flags == nil {
		db.flags = map[string]statementFlag{}
	}
	db.flags[query] = v
	db.rebindMu.Unlock()
	return v
}

// beforeStatement writes what waits when the statement names a table
// that has rows waiting: an award's statements go on while its postings
// wait, and a sale's while its stock movements do.
func (t *Tx) beforeStatement(ctx context.Context, query string) error {
	waiting := !t.pending.empty() || !t.held.empty()
	if len(t.drawn) == 0 && !waiting {
		return nil
	}
	f := t.db.statementFlags(query)
	for table, d := range t.drawn {
		if f&laterBit(table) != 0 && !d.stale {
			d.stale = true
			t.drawn[table] = d
		}
	}
	if !waiting || f&(t.pending.tables()|t.held.tables()) == 0 {
		return nil
	}
	return t.writeLater(ctx)
}

// writeLater writes the group's waiting rows and then the current
// write's. The group's are remembered until the current write ends: if it
// rolls back, so do they, and they wait again.
func (t *Tx) writeLater(ctx context.Context) error {
	if !t.held.empty() {
		if err := t.writeRows(ctx, &t.held); err != nil {
			// The group's rows, not this write's, failed (a retried
			// award's key among them): the group runs again write by
			// write (group.go).
			t.heldFailed = true
			return err
		}
		t.heldWritten.add(&t.held)
		t.held = later{}
	}
	if err := t.writeRows(ctx, &t.pending); err != nil {
		return err
	}
	t.pending = later{}
	return nil
}

// laterChunks are the row counts of the multi-row statements: few
// distinct texts, so each stays compiled (stmtcache.go).
var laterChunks = []int{64, 16, 4, 1}

// laterStmt is one statement of what waited. On PostgreSQL it may come
// with WITH clauses of its own (with, whose arguments come first); "{n}"
// in either text is replaced by a number unique within the statement
// sent, so the names of two such statements never meet.
type laterStmt struct {
	with     string
	withArgs []any
	query    string
	args     []any
}

func (t *Tx) writeRows(ctx context.Context, l *later) error {
	// Before any row: the awards' people may have been erased since the
	// awards were decided (erasedAmong); a group then fails, and its
	// writes run again alone, where only such an award is refused. A
	// message to someone erased is not written: a verification, a move
	// or a correction still goes on for them, and tells nobody.
	awardees, addressees := l.people()
	erased, err := t.erasedAmong(ctx, append(awardees, addressees...))
	if err != nil {
		return err
	}
	for _, id := range awardees {
		if erased[id] {
			return errErased
		}
	}
	var stmts []laterStmt
	rows := slices.Clone(l.rows)
	if len(erased) > 0 {
		rows = withoutMessagesTo(rows, erased)
	}
	slices.SortStableFunc(rows, func(a, b *laterRows) int { return cmp.Compare(a.bit, b.bit) })
	for _, r := range rows {
		n := len(r.args) / r.width
		one := "(" + marks(r.width) + ")"
		at := 0
		for _, size := range laterChunks {
			for n-at >= size {
				var sb strings.Builder
				sb.WriteString("INSERT INTO " + r.table + " (" + r.cols + ") VALUES ")
				for i := 0; i < size; i++ {
					if i > 0 {
						sb.WriteString(", ")
					}
					sb.WriteString(one)
				}
				stmts = append(stmts, laterStmt{query: sb.String(), args: r.args[at*r.width : (at+size)*r.width]})
				at += size
			}
		}
	}
	// Credits in account order, as post takes its debits.
	ids := make([]int64, 0, len(l.credits))
	for id := range l.credits {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	tallies := tallyStatements(t.db.dialect, &l.tallies)
	if len(ids) > 0 && t.db.dialect.name() == "postgres" {
		// The accounts before the roll-ups' rows, as every write takes
		// them: a sale or an award debits an account at once and adds to
		// its org's and store's months at its end, and a cancel or refund
		// debits the store's account at once. PostgreSQL runs a
		// statement's main query before its WITH clauses, so the credits
		// are the main query, after the tallies in the text; when all
		// cannot go as one statement, the tallies follow in their own.
		// (With the tallies last, a sale took its store's month before
		// the store's account, and orders and cancels at one store
		// deadlocked 23 times in a 15-second load.)
		credits := creditsInOrder(ids, l.credits)
		all := append(append(stmts, tallies...), credits)
		one := oneStatement(all)
		if len(ids) > 1 || (len(ids) == 1 && !one) {
			// Several accounts are locked in id order by a statement of
			// their own, before the one that credits them (creditsInOrder).
			// So is a single account when the rows take more than one
			// statement: the first ones would insert the awards, and so
			// take their keys, before the last credits the account. A
			// retry of one of those awards, run alone, credits the account
			// first (its one statement's main query) and then meets the
			// key: the two waited on each other in a circle (three times
			// in one CI run; a group of three awards to one person takes
			// two statements).
			if _, err := t.rawExec(ctx, "SELECT id FROM accounts WHERE id = ANY(?::bigint[]) ORDER BY id FOR NO KEY UPDATE", ids); err != nil {
				return err
			}
		}
		if one {
			return t.runLater(ctx, all)
		}
		if err := t.runLater(ctx, append(stmts, credits)); err != nil {
			return err
		}
		return t.runLater(ctx, tallies)
	}
	for _, id := range ids {
		c := l.credits[id]
		stmts = append(stmts, laterStmt{query: "UPDATE accounts SET balance = balance + ?, score = score + ? WHERE id = ?", args: []any{c.amount, c.score, id}})
	}
	return t.runLater(ctx, append(stmts, tallies...))
}

// creditsInOrder is PostgreSQL's statement for the credits, whose
// accounts the transaction has locked in id order when there are several
// (writeRows): a plain UPDATE, which PostgreSQL runs row by row in an
// order it leaves unspecified. Two ways of ordering it inside this one
// statement both deadlocked:
//   - one UPDATE per account, as WITH clauses of their own: two award
//     groups crediting the same people, three times in a 20-second load;
//   - a WITH clause locking the accounts (SELECT … ORDER BY id FOR NO KEY
//     UPDATE) joined to the UPDATE: the lock follows a row another
//     transaction has just updated to its new version, but the UPDATE
//     reads by the statement's older snapshot and so takes the old
//     version's tuple lock again, which a second such statement waiting
//     behind the first holds (once or twice in a 30-second load of two
//     instances; three psql sessions make it every time).
//
// Locked by a statement of its own, every account is then ours before
// the UPDATE's snapshot is taken. A single account needs no order, and a
// plain UPDATE of one row never waits in a circle with another (it is
// still locked first when the rows take more than one statement, for the
// keys the first would take: writeRows). The lock
// is the one an UPDATE of the balance takes: FOR UPDATE would also wait
// on every transaction that has just inserted a row referring to the
// account (a posting, an award: their foreign-key checks hold KEY SHARE),
// and deadlocked fifty times a minute.
func creditsInOrder(ids []int64, credits map[int64]*credit) laterStmt {
	amounts, scores := make([]int64, len(ids)), make([]int64, len(ids))
	for i, id := range ids {
		amounts[i], scores[i] = credits[id].amount, credits[id].score
	}
	return laterStmt{
		query: `UPDATE accounts a SET balance = a.balance + v.amount, score = a.score + v.score
		FROM unnest(?::bigint[], ?::bigint[], ?::bigint[]) AS v(id, amount, score) WHERE a.id = v.id`,
		args: []any{ids, amounts, scores},
	}
}

// laterBundle bounds how many statements, and how many arguments, go to
// PostgreSQL as one.
const (
	laterBundle     = 16
	laterBundleArgs = 30000
)

// oneStatement tells whether runLater sends stmts to PostgreSQL as one.
func oneStatement(stmts []laterStmt) bool {
	n := 0
	for _, st := range stmts {
		n += len(st.withArgs) + len(st.args)
	}
	return len(stmts) <= laterBundle && n <= laterBundleArgs
}

func (t *Tx) runLater(ctx context.Context, stmts []laterStmt) error {
	if t.db.dialect.name() != "postgres" {
		// SQLite runs in this process: a statement costs no round trip.
		for _, s := range stmts {
			if _, err := t.rawExec(ctx, s.query, s.args...); err != nil {
				return err
			}
		}
		return nil
	}
	// On PostgreSQL each statement is a round trip: data-modifying WITH
	// clauses send several as one (an award's become one). No two of them
	// touch one row: rows are new, credits and roll-ups one per key.
	for i := 0; i < len(stmts); {
		j, n := i+1, len(stmts[i].withArgs)+len(stmts[i].args)
		for j < len(stmts) && j-i < laterBundle && n+len(stmts[j].withArgs)+len(stmts[j].args) <= laterBundleArgs {
			n += len(stmts[j].withArgs) + len(stmts[j].args)
			j++
		}
		var ctes []string
		args := make([]any, 0, n)
		last := ""
		for k := i; k < j; k++ {
			st, num := stmts[k], strconv.Itoa(k-i)
			if st.with != "" {
				ctes = append(ctes, strings.ReplaceAll(st.with, "{n}", num))
				args = append(args, st.withArgs...)
			}
			main := strings.ReplaceAll(st.query, "{n}", num)
			if k < j-1 {
				ctes = append(ctes, "w"+num+" AS ("+main+")")
			} else {
				last = main
			}
			args = append(args, st.args...)
		}
		query := last
		if len(ctes) > 0 {
			query = "WITH " + strings.Join(ctes, ", ") + " " + last
		}
		if _, err := t.rawExec(ctx, query, args...); err != nil {
			return err
		}
		i = j
	}
	return nil
}
