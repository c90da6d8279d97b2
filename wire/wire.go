// Package wire assembles jifen from its parts: the one place that knows
// both what the web layer needs and which SQL implementation serves it.
// The command, the demo loader and the tests all start here, so a new
// service is wired once.
package wire

import (
	"time"

	"jifen/demo"
	"jifen/sqldb"
	"jifen/web"
)

// Services are the SQL implementations of everything the web layer calls.
func Services(db *sqldb.DB) web.Services {
	return web.Services{
		Orgs: sqldb.NewOrgService(db), People: sqldb.NewPersonService(db), Auth: sqldb.NewAuthService(db),
		Audit: sqldb.NewAuditService(db), Messages: sqldb.NewMessageService(db), Uploads: sqldb.NewUploadService(db),
		Activities: sqldb.NewActivityService(db), Records: sqldb.NewRecordService(db),
		Transfers: sqldb.NewTransferService(db), Certificates: sqldb.NewCertificateService(db),
		Points: sqldb.NewPointsService(db), Ledger: sqldb.NewLedgerService(db), Stores: sqldb.NewStoreService(db),
		Reports: sqldb.NewReportService(db), Ping: db.Ping, CommitStats: db.CommitStats,
	}
}

// Demo is what the demo loader needs. Its history is written by moving the
// database's clock back, so it must run before the server takes requests.
func Demo(db *sqldb.DB) demo.Services {
	svc := Services(db)
	return demo.Services{Orgs: svc.Orgs, People: svc.People, Auth: svc.Auth, Activities: svc.Activities, Points: svc.Points, Stores: svc.Stores,
		Travel: func(t time.Time) {
			if t.IsZero() {
				db.Now = time.Now
				return
			}
			db.Now = func() time.Time { return t }
		}}
}
