package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"jifen"
	"jifen/photo"
)

// StoreService implements jifen.StoreService.
type StoreService struct{ db *DB }

// NewStoreService returns the store service on db.
func NewStoreService(db *DB) *StoreService { return &StoreService{db} }

const storeCols = `s.id, s.org_id, o.name, s.org_path, s.name, s.kind, s.address, s.lat, s.lon, s.hours, s.serves_org_id, s.serves_path,
	s.confirm_above, s.fen_per_point, s.hold_hours, s.refund_days, s.archived_at IS NOT NULL, s.created_at`

const storeFrom = ` FROM stores s JOIN orgs o ON o.id = s.org_id`

type storeRow struct {
	*jifen.Store
	path, serves string
}

func scanStore(row interface{ Scan(...any) error }) (*storeRow, error) {
	s := &jifen.Store{}
	r := &storeRow{Store: s}
	var lat, lon sql.NullFloat64
	if err := row.Scan(&s.ID, &s.OrgID, &s.OrgName, &r.path, &s.Name, &s.Kind, &s.Address, &lat, &lon, &s.Hours, &s.ServesOrgID, &r.serves,
		&s.ConfirmAbove, &s.FenPerPoint, &s.HoldHours, &s.RefundDays, &s.Archived, &s.CreatedAt); err != nil {
		return nil, err
	}
	if lat.Valid && lon.Valid {
		s.Lat, s.Lon = &lat.Float64, &lon.Float64
	}
	s.CreatedAt = s.CreatedAt.In(jifen.Zone)
	return r, nil
}

func getStore(ctx context.Context, q querier, id int64) (*storeRow, error) {
	s, err := scanStore(q.queryRow(ctx, "SELECT "+storeCols+storeFrom+" WHERE s.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, jifen.NotFound("store")
	}
	return s, err
}

func isClerk(ctx context.Context, q querier, storeID, personID int64) (bool, error) {
	var n int
	err := q.queryRow(ctx, "SELECT COUNT(*) FROM store_clerks WHERE store_id = ? AND person_id = ?", storeID, personID).Scan(&n)
	return n > 0, err
}

// manages: org admins over the store's org.
func manages(a *jifen.Actor, s *storeRow) bool { return a.Has(s.path, jifen.RoleOrgAdmin) }

// sells: the store's clerks and its managers.
func sells(ctx context.Context, q querier, a *jifen.Actor, s *storeRow) (bool, error) {
	if manages(a, s) {
		return true, nil
	}
	return isClerk(ctx, q, s.ID, a.PersonID)
}

// serves: a resident of the subtree the store serves.
func serves(a *jifen.Actor, s *storeRow) bool { return jifen.PathContains(s.serves, a.HomeOrgPath) }

var errNotClerk = jifen.Errorf(jifen.KindForbidden, "not_clerk", "store_id", "您不是这家店的店员，不能在这里收银", "You are not a clerk of this store")

// notClerk refuses the counter to someone who does not sell at st: not a
// clerk where they can see the store, no such store where they cannot.
func notClerk(a *jifen.Actor, st *storeRow, missing string) error {
	if serves(a, st) || a.Has(st.path, jifen.StaffRoles...) {
		return errNotClerk
	}
	return jifen.NotFound(missing)
}

// manageStore loads a store for an admin over its org.
func (s *StoreService) manageStore(ctx context.Context, q querier, id int64) (*storeRow, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	st, err := getStore(ctx, q, id)
	if err != nil {
		return nil, err
	}
	if !manages(a, st) {
		if ok, err := isClerk(ctx, q, id, a.PersonID); err != nil || ok || serves(a, st) {
			return nil, cmpErr(err, jifen.ErrForbidden)
		}
		return nil, jifen.NotFound("store")
	}
	return st, nil
}

// servesPath checks the widened subtree: the store's org or an org above
// it that the admin also administers.
func (s *StoreService) servesPath(ctx context.Context, orgPath string, in jifen.StoreInput) (string, int64, error) {
	if in.ServesOrgID == 0 || in.ServesOrgID == in.OrgID {
		return orgPath, in.OrgID, nil
	}
	p, err := s.db.orgPath(ctx, in.ServesOrgID)
	if err != nil {
		return "", 0, jifen.Invalid("serves_org_id", "服务范围的组织不存在", "No such org")
	}
	if !jifen.PathContains(p, orgPath) && !jifen.PathContains(orgPath, p) {
		return "", 0, jifen.Invalid("serves_org_id", "服务范围应为本店所属组织的上级或下级", "A store serves an org above or below its own")
	}
	if !jifen.ActorFrom(ctx).Has(p, jifen.RoleOrgAdmin) {
		return "", 0, jifen.Errorf(jifen.KindForbidden, "forbidden", "serves_org_id", "需由该组织的管理员放宽服务范围", "An admin of that org must widen it")
	}
	return p, in.ServesOrgID, nil
}

// CreateStore opens a supermarket or signs up a merchant under an org.
func (s *StoreService) CreateStore(ctx context.Context, in jifen.StoreInput) (*jifen.Store, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	path, err := s.db.orgPath(ctx, in.OrgID)
	if err != nil {
		return nil, jifen.Errorf(jifen.KindNotFound, "not_found", "org_id", "组织不存在", "No such org")
	}
	if !a.Has(path, jifen.RoleOrgAdmin) {
		return nil, jifen.Errorf(jifen.KindNotFound, "not_found", "org_id", "组织不存在", "No such org")
	}
	sp, sid, err := s.servesPath(ctx, path, in)
	if err != nil {
		return nil, err
	}
	var id int64
	err = s.db.inTx(ctx, func(tx *Tx) error {
		var err error
		id, err = tx.insert(ctx, `INSERT INTO stores (org_id, org_path, name, kind, address, lat, lon, hours, serves_org_id, serves_path, confirm_above,
			fen_per_point, hold_hours, refund_days, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			in.OrgID, path, in.Name, in.Kind, in.Address, in.Lat, in.Lon, in.Hours, sid, sp, in.ConfirmAbove, in.FenPerPoint, in.HoldHours, in.RefundDays, s.db.now())
		if err != nil {
			return err
		}
		if _, err := tx.account(ctx, jifen.AccountStore, id); err != nil {
			return err
		}
		return tx.audit(ctx, in.OrgID, path, "store.create", "store", id, in.Name)
	})
	if err != nil {
		return nil, err
	}
	return s.Store(ctx, id)
}

// UpdateStore edits a store.
func (s *StoreService) UpdateStore(ctx context.Context, id int64, in jifen.StoreInput) (*jifen.Store, error) {
	st, err := s.manageStore(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	in.OrgID = st.OrgID
	if err := in.Validate(); err != nil {
		return nil, err
	}
	sp, sid, err := s.servesPath(ctx, st.path, in)
	if err != nil {
		return nil, err
	}
	err = s.db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `UPDATE stores SET name = ?, kind = ?, address = ?, lat = ?, lon = ?, hours = ?, serves_org_id = ?, serves_path = ?,
			confirm_above = ?, fen_per_point = ?, hold_hours = ?, refund_days = ?,
			archived_at = CASE WHEN ? THEN COALESCE(archived_at, ?) ELSE NULL END WHERE id = ?`,
			in.Name, in.Kind, in.Address, in.Lat, in.Lon, in.Hours, sid, sp, in.ConfirmAbove, in.FenPerPoint, in.HoldHours, in.RefundDays,
			in.Archived, s.db.now(), id); err != nil {
			return err
		}
		return tx.audit(ctx, st.OrgID, st.path, "store.update", "store", id, in.Name)
	})
	if err != nil {
		return nil, err
	}
	return s.Store(ctx, id)
}

// Store returns a store to its managers, its clerks and the residents it
// serves.
func (s *StoreService) Store(ctx context.Context, id int64) (*jifen.Store, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	st, err := getStore(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	if !serves(a, st) && !a.Has(st.path, jifen.StaffRoles...) {
		if ok, err := isClerk(ctx, s.db, id, a.PersonID); err != nil || !ok {
			return nil, cmpErr(err, jifen.NotFound("store"))
		}
	}
	return st.Store, nil
}

// Stores lists the stores the actor may shop at or, with manage, those it
// runs (as an admin or a clerk).
func (s *StoreService) Stores(ctx context.Context, manage bool) ([]*jifen.Store, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	var where string
	var args []any
	if manage {
		w, wargs, err := s.db.scopeWhere(ctx, a, "s.org_path", 0, jifen.RoleOrgAdmin)
		if err != nil {
			w, wargs = "1=0", nil
		}
		where = "(" + w + " OR s.id IN (SELECT store_id FROM store_clerks WHERE person_id = ?))"
		args = append(wargs, a.PersonID)
	} else {
		// The stores whose served subtree holds the actor's home: their
		// serves_path is a prefix of the home path.
		ids := jifen.PathIDs(a.HomeOrgPath)
		if len(ids) == 0 {
			return []*jifen.Store{}, nil
		}
		var paths []string
		for i := range ids {
			paths = append(paths, pathOf(ids[:i+1]))
		}
		where = "s.serves_path IN (" + marks(len(paths)) + ") AND s.archived_at IS NULL"
		for _, p := range paths {
			args = append(args, p)
		}
	}
	rows, err := s.db.query(ctx, "SELECT "+storeCols+storeFrom+" WHERE "+where+" ORDER BY s.kind DESC, s.name, s.id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*jifen.Store{}
	for rows.Next() {
		st, err := scanStore(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, st.Store)
	}
	return out, rows.Err()
}

// pathOf is the materialised path of ids, root first.
func pathOf(ids []int64) string {
	var b strings.Builder
	b.WriteByte('/')
	for _, id := range ids {
		fmt.Fprintf(&b, "%d/", id)
	}
	return b.String()
}

// AddClerk grants the clerk role on one store.
func (s *StoreService) AddClerk(ctx context.Context, storeID, personID int64) error {
	st, err := s.manageStore(ctx, s.db, storeID)
	if err != nil {
		return err
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		p, err := s.db.getPerson(ctx, tx.tx, personID)
		if err != nil {
			return jifen.Errorf(jifen.KindNotFound, "not_found", "person_id", "人员不存在", "No such person")
		}
		if !canSeePerson(jifen.ActorFrom(ctx), p, nil, jifen.RoleOrgAdmin) {
			return jifen.Errorf(jifen.KindNotFound, "not_found", "person_id", "人员不存在", "No such person")
		}
		if _, err := tx.exec(ctx, "INSERT INTO store_clerks (store_id, person_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", storeID, personID, s.db.now()); err != nil {
			return err
		}
		return tx.audit(ctx, st.OrgID, st.path, "store.add_clerk", "store", storeID, p.Name)
	})
}

// RemoveClerk takes the role away.
func (s *StoreService) RemoveClerk(ctx context.Context, storeID, personID int64) error {
	st, err := s.manageStore(ctx, s.db, storeID)
	if err != nil {
		return err
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, "DELETE FROM store_clerks WHERE store_id = ? AND person_id = ?", storeID, personID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return jifen.NotFound("person")
		}
		return tx.audit(ctx, st.OrgID, st.path, "store.remove_clerk", "store", storeID, fmt.Sprint(personID))
	})
}

// Roles implements jifen.StoreService: a store nobody may see is neither.
// The store's pages ask it on every view, so it reads the store and at
// most one clerk row (it used to list the store's sales, counting every
// sale the store ever made).
func (s *StoreService) Roles(ctx context.Context, storeID int64) (sell, manage bool, err error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return false, false, jifen.ErrUnauthorized
	}
	st, err := getStore(ctx, s.db, storeID)
	if jifen.ErrorCode(err) == "not_found" {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	if manages(a, st) {
		return true, true, nil
	}
	sell, err = isClerk(ctx, s.db, storeID, a.PersonID)
	return sell, false, err
}

// Clerks lists a store's clerks for its managers.
func (s *StoreService) Clerks(ctx context.Context, storeID int64) ([]*jifen.Person, error) {
	if _, err := s.manageStore(ctx, s.db, storeID); err != nil {
		return nil, err
	}
	rows, err := s.db.query(ctx, "SELECT "+personCols+personFrom+" JOIN store_clerks c ON c.person_id = p.id WHERE c.store_id = ? ORDER BY p.name", storeID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*jifen.Person{}
	for rows.Next() {
		p, err := scanPerson(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Person)
	}
	return out, rows.Err()
}

const itemCols = `i.id, i.store_id, i.name, i.points, i.stock, i.per_person_limit, i.limit_period, i.low_stock, i.valid_from, i.valid_to,
	i.photo IS NOT NULL, i.archived_at IS NOT NULL, i.created_at`

func scanItem(row interface{ Scan(...any) error }) (*jifen.Item, error) {
	it := &jifen.Item{}
	var stock sql.NullInt64
	if err := row.Scan(&it.ID, &it.StoreID, &it.Name, &it.Points, &stock, &it.PerPersonLimit, &it.LimitPeriod, &it.LowStock,
		&it.ValidFrom, &it.ValidTo, &it.HasPhoto, &it.Archived, &it.CreatedAt); err != nil {
		return nil, err
	}
	it.Stock = nullID(stock)
	it.CreatedAt = it.CreatedAt.In(jifen.Zone)
	return it, nil
}

func getItem(ctx context.Context, q querier, id int64) (*jifen.Item, error) {
	it, err := scanItem(q.queryRow(ctx, "SELECT "+itemCols+" FROM items i WHERE i.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, jifen.NotFound("item")
	}
	return it, err
}

// movement records a change of stock beside the change itself.
func (t *Tx) movement(ctx context.Context, itemID, delta int64, kind, note string, redemption *int64) error {
	var after sql.NullInt64
	if err := t.queryRow(ctx, "SELECT stock FROM items WHERE id = ?", itemID).Scan(&after); err != nil {
		return err
	}
	var rid any
	if redemption != nil {
		rid = *redemption
	}
	_, err := t.exec(ctx, "INSERT INTO stock_movements (item_id, delta, kind, note, stock_after, redemption_id, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		itemID, delta, kind, note, after, rid, actorID(jifen.ActorFrom(ctx)), t.db.now())
	return err
}

// CreateItem adds an item to a store's catalogue; its opening stock is
// the first movement.
func (s *StoreService) CreateItem(ctx context.Context, storeID int64, in jifen.ItemInput) (*jifen.Item, error) {
	st, err := s.manageStore(ctx, s.db, storeID)
	if err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var pic []byte
	if len(in.Photo) > 0 {
		if pic, err = photo.Clean(in.Photo); err != nil {
			return nil, err
		}
	}
	var id int64
	err = s.db.inTx(ctx, func(tx *Tx) error {
		var err error
		id, err = tx.insert(ctx, `INSERT INTO items (store_id, name, points, stock, per_person_limit, limit_period, low_stock, valid_from, valid_to, photo, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, storeID, in.Name, in.Points, in.Stock, in.PerPersonLimit, in.LimitPeriod, in.LowStock,
			in.ValidFrom, in.ValidTo, pic, s.db.now())
		if err != nil {
			return err
		}
		if in.Stock != nil && *in.Stock > 0 {
			if err := tx.movement(ctx, id, *in.Stock, "restock", "上架", nil); err != nil {
				return err
			}
		}
		return tx.audit(ctx, st.OrgID, st.path, "item.create", "item", id, fmt.Sprintf("%s %d分", in.Name, in.Points))
	})
	if err != nil {
		return nil, err
	}
	return getItem(ctx, s.db, id)
}

// manageItem loads an item and its store for an admin.
func (s *StoreService) manageItem(ctx context.Context, q querier, id int64) (*jifen.Item, *storeRow, error) {
	it, err := getItem(ctx, q, id)
	if err != nil {
		return nil, nil, err
	}
	st, err := s.manageStore(ctx, q, it.StoreID)
	if err != nil {
		return nil, nil, err
	}
	return it, st, nil
}

// UpdateItem edits an item. Stock is not set here (restock and stock-take
// record why it changes); a nil Stock keeps an item as it was.
func (s *StoreService) UpdateItem(ctx context.Context, id int64, in jifen.ItemInput) (*jifen.Item, error) {
	_, st, err := s.manageItem(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var pic []byte
	if len(in.Photo) > 0 {
		if pic, err = photo.Clean(in.Photo); err != nil {
			return nil, err
		}
	}
	err = s.db.inTx(ctx, func(tx *Tx) error {
		tx.changesConfig() // sales decide on the cached item (saleItem)
		if _, err := tx.exec(ctx, `UPDATE items SET name = ?, points = ?, per_person_limit = ?, limit_period = ?, low_stock = ?, valid_from = ?, valid_to = ?,
			photo = COALESCE(?, photo), archived_at = CASE WHEN ? THEN COALESCE(archived_at, ?) ELSE NULL END WHERE id = ?`,
			in.Name, in.Points, in.PerPersonLimit, in.LimitPeriod, in.LowStock, in.ValidFrom, in.ValidTo, pic, in.Archived, s.db.now(), id); err != nil {
			return err
		}
		return tx.audit(ctx, st.OrgID, st.path, "item.update", "item", id, fmt.Sprintf("%s %d分", in.Name, in.Points))
	})
	if err != nil {
		return nil, err
	}
	return getItem(ctx, s.db, id)
}

// Item returns an item to whoever may see its store.
func (s *StoreService) Item(ctx context.Context, id int64) (*jifen.Item, error) {
	it, err := getItem(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	if _, err := s.Store(ctx, it.StoreID); err != nil {
		return nil, jifen.NotFound("item")
	}
	return it, nil
}

// ItemPhoto returns an item's photo.
func (s *StoreService) ItemPhoto(ctx context.Context, id int64) ([]byte, error) {
	if _, err := s.Item(ctx, id); err != nil {
		return nil, err
	}
	var data []byte
	err := s.db.queryRow(ctx, "SELECT photo FROM items WHERE id = ? AND photo IS NOT NULL", id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, jifen.NotFound("photo")
	}
	return data, err
}

// Items lists a store's catalogue: all for its staff, what is on sale for
// residents.
func (s *StoreService) Items(ctx context.Context, storeID int64) ([]*jifen.Item, error) {
	if _, err := s.Store(ctx, storeID); err != nil {
		return nil, err
	}
	st, err := getStore(ctx, s.db, storeID)
	if err != nil {
		return nil, err
	}
	staff, err := sells(ctx, s.db, jifen.ActorFrom(ctx), st)
	if err != nil {
		return nil, err
	}
	where := "i.store_id = ?"
	args := []any{storeID}
	if !staff {
		day := localDay(s.db.now())
		where += " AND i.archived_at IS NULL AND (i.valid_from = '' OR i.valid_from <= ?) AND (i.valid_to = '' OR i.valid_to >= ?)"
		args = append(args, day, day)
	}
	rows, err := s.db.query(ctx, "SELECT "+itemCols+" FROM items i WHERE "+where+" ORDER BY i.archived_at IS NOT NULL, i.points, i.id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*jifen.Item{}
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Restock adds to an item's stock.
func (s *StoreService) Restock(ctx context.Context, id, quantity int64, note string) (*jifen.Item, error) {
	if quantity < 1 || quantity > jifen.MaxStock {
		return nil, jifen.Invalid("quantity", fmt.Sprintf("补货数量应为1到%d", jifen.MaxStock), fmt.Sprintf("A restock is 1 to %d", jifen.MaxStock))
	}
	note = jifen.CleanText(note)
	if len([]rune(note)) > 200 {
		return nil, jifen.Invalid("note", "备注不能超过200字", "The note is at most 200 characters")
	}
	err := s.db.inTx(ctx, func(tx *Tx) error {
		it, st, err := s.manageItem(ctx, tx, id)
		if err != nil {
			return err
		}
		if it.Stock == nil {
			return jifen.Conflict("unlimited", "此商品不限库存，无需补货", "This item has unlimited stock")
		}
		res, err := tx.exec(ctx, "UPDATE items SET stock = stock + ? WHERE id = ? AND stock IS NOT NULL AND stock + ? <= ?", quantity, id, quantity, jifen.MaxStock)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return jifen.Invalid("quantity", "补货后库存超过上限", "The stock would pass its limit")
		}
		if err := tx.movement(ctx, id, quantity, "restock", note, nil); err != nil {
			return err
		}
		return tx.audit(ctx, st.OrgID, st.path, "item.restock", "item", id, fmt.Sprintf("+%d %s", quantity, note))
	})
	if err != nil {
		return nil, err
	}
	return getItem(ctx, s.db, id)
}

// StockTake sets an item's stock to what was counted, recording the
// difference and why.
func (s *StoreService) StockTake(ctx context.Context, id, counted int64, reason string) (*jifen.Item, error) {
	if counted < 0 || counted > jifen.MaxStock {
		return nil, jifen.Invalid("counted", fmt.Sprintf("盘点数量应为0到%d", jifen.MaxStock), fmt.Sprintf("A count is 0 to %d", jifen.MaxStock))
	}
	reason = jifen.CleanText(reason)
	if reason == "" {
		return nil, jifen.Invalid("reason", "盘点调整必须说明原因", "A stock-take needs a reason")
	}
	err := s.db.inTx(ctx, func(tx *Tx) error {
		// The difference is worked out under the item's row lock, so a
		// sale beside the count is recorded on one side of it.
		if _, err := tx.exec(ctx, "UPDATE items SET stock = stock WHERE id = ?", id); err != nil {
			return err
		}
		it, st, err := s.manageItem(ctx, tx, id)
		if err != nil {
			return err
		}
		if it.Stock == nil {
			return jifen.Conflict("unlimited", "此商品不限库存", "This item has unlimited stock")
		}
		if _, err := tx.exec(ctx, "UPDATE items SET stock = ? WHERE id = ?", counted, id); err != nil {
			return err
		}
		delta := counted - *it.Stock
		if err := tx.movement(ctx, id, delta, "stocktake", reason, nil); err != nil {
			return err
		}
		return tx.audit(ctx, st.OrgID, st.path, "item.stocktake", "item", id, fmt.Sprintf("%d → %d: %s", *it.Stock, counted, reason))
	})
	if err != nil {
		return nil, err
	}
	return getItem(ctx, s.db, id)
}

// Movements lists an item's stock movements, newest first, for staff.
func (s *StoreService) Movements(ctx context.Context, id int64, page int) ([]*jifen.Movement, int, error) {
	it, err := getItem(ctx, s.db, id)
	if err != nil {
		return nil, 0, err
	}
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, 0, jifen.ErrUnauthorized
	}
	st, err := getStore(ctx, s.db, it.StoreID)
	if err != nil {
		return nil, 0, err
	}
	if ok, err := sells(ctx, s.db, a, st); err != nil || !ok {
		return nil, 0, cmpErr(err, jifen.NotFound("item"))
	}
	page, per := jifen.Paging(page, 50, 50, 50)
	var total int
	if err := s.db.queryRow(ctx, "SELECT COUNT(*) FROM stock_movements WHERE item_id = ?", id).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.query(ctx, `SELECT id, item_id, delta, kind, note, COALESCE(stock_after, 0), redemption_id, COALESCE(created_by, 0), created_at
		FROM stock_movements WHERE item_id = ? ORDER BY id DESC LIMIT ? OFFSET ?`, id, per, (page-1)*per)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []*jifen.Movement{}
	for rows.Next() {
		m := &jifen.Movement{}
		var rid sql.NullInt64
		if err := rows.Scan(&m.ID, &m.ItemID, &m.Delta, &m.Kind, &m.Note, &m.StockAfter, &rid, &m.CreatedBy, &m.CreatedAt); err != nil {
			return nil, 0, err
		}
		m.RedemptionID, m.CreatedAt = nullID(rid), m.CreatedAt.In(jifen.Zone)
		out = append(out, m)
	}
	return out, total, rows.Err()
}
