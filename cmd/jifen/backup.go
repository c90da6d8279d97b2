package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"jifen"
	"jifen/secret"
	"jifen/sqldb"
)

// backupFormat names the archive layout; restore refuses others.
const backupFormat = "jifen-backup/1"

// backupManifest is manifest.json, the archive's first entry: enough to
// check the restore against without trusting the database file.
type backupManifest struct {
	Format        string    `json:"format"`
	CreatedAt     time.Time `json:"created_at"`
	JifenVersion  string    `json:"jifen_version"`
	SchemaVersion string    `json:"schema_version"`
	sqldb.Snapshot
	Database archivedFile `json:"database"`
	Secret   secretNote   `json:"secret"`
}

type archivedFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// secretNote says which secret the encrypted fields need without holding
// it: the fingerprint is a keyed hash of a fixed label, so it tells two
// secrets apart and reveals nothing of either.
type secretNote struct {
	Included    bool   `json:"included"`
	File        string `json:"file"`
	Fingerprint string `json:"fingerprint"`
}

func secretFingerprint(k *secret.Keys) string { return k.Hash("jifen/backup-secret-check")[:16] }

// runBackup writes one archive (tar.gz: manifest.json and the database
// copy) while the server keeps running. Photos live in the database, so
// they are in the copy; the secret file is deliberately not.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c Config
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.bindCommon(fs)
	out := fs.String("out", "", "the archive to write (default jifen-backup-YYYYMMDD-HHMMSS.tar.gz here)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		*out = "jifen-backup-" + time.Now().In(jifen.Zone).Format("20060102-150405") + ".tar.gz"
	}
	c.resolve()
	// Opening would create an empty database (and a new secret) where a
	// mistyped --data points: a backup of nothing that looks like success.
	if p, ok := strings.CutPrefix(c.DB, "sqlite:"); ok {
		if _, err := os.Stat(strings.TrimPrefix(p, "file:")); err != nil {
			return fmt.Errorf("no database to back up at %s (give --data or --db): %w", p, err)
		}
	}
	db, err := open(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()
	// The copy waits beside the archive, not in /tmp, which is often small.
	tmp, err := os.MkdirTemp(filepath.Dir(*out), ".jifen-backup-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	file, snap, err := db.Backup(ctx, c.DB, tmp)
	if err != nil {
		return err
	}
	sum, size, err := fileSHA256(file)
	if err != nil {
		return err
	}
	secretPath, _ := filepath.Abs(c.SecretFile)
	m := backupManifest{Format: backupFormat, CreatedAt: time.Now().UTC().Truncate(time.Second), JifenVersion: version,
		SchemaVersion: snap.SchemaVersion(), Snapshot: *snap,
		Database: archivedFile{Name: filepath.Base(file), Size: size, SHA256: sum},
		Secret:   secretNote{Included: false, File: secretPath, Fingerprint: secretFingerprint(db.Keys)}}
	if err := writeArchive(*out, m, file); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written: %s (%s, schema %s, %d ledger transactions, latest block #%d %s)\n",
		*out, snap.Dialect, m.SchemaVersion, snap.Tables["ledger_transactions"], snap.BlockNumber, orNone(snap.BlockHash))
	fmt.Fprintf(stdout, "photos (kept in the database, so in the backup): %d claim photos, %d item photos, %d org seals\n",
		snap.Photos["claim_evidence"], snap.Photos["item_photos"], snap.Photos["org_seals"])
	fmt.Fprintf(stdout, "The secret file is NOT in the backup. The encrypted ID numbers need it: keep a copy of\n  %s\n"+
		"somewhere safe and apart from the backups (fingerprint %s). The archive holds personal data: keep it private.\n",
		secretPath, m.Secret.Fingerprint)
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none yet)"
	}
	return s
}

func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// writeArchive writes beside out and renames, so a failed backup never
// leaves a file that looks complete. Mode 0600: it holds personal data.
func writeArchive(out string, m backupManifest, dbFile string) (err error) {
	partial := out + ".partial"
	f, err := os.OpenFile(partial, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(partial)
		}
	}()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0o600, Size: int64(len(manifest)), ModTime: m.CreatedAt}); err != nil {
		return err
	}
	if _, err := tw.Write(manifest); err != nil {
		return err
	}
	db, err := os.Open(dbFile)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := tw.WriteHeader(&tar.Header{Name: m.Database.Name, Mode: 0o600, Size: m.Database.Size, ModTime: m.CreatedAt}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, db); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(partial, out)
}

// readArchive checks the archive's layout and its database file's digest,
// and leaves the file in dir.
func readArchive(path, dir string) (*backupManifest, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, "", fmt.Errorf("%s is not a jifen backup (not gzip): %w", path, err)
	}
	tr := tar.NewReader(gz)
	h, err := tr.Next()
	if err != nil || h.Name != "manifest.json" {
		return nil, "", fmt.Errorf("%s is not a jifen backup: manifest.json must come first", path)
	}
	var m backupManifest
	if err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(&m); err != nil {
		return nil, "", fmt.Errorf("%s: manifest.json: %w", path, err)
	}
	if m.Format != backupFormat {
		return nil, "", fmt.Errorf("%s: format %q, this jifen reads %q", path, m.Format, backupFormat)
	}
	if m.Database.Name != "jifen.db" && m.Database.Name != "jifen.dump" {
		return nil, "", fmt.Errorf("%s: unexpected database file %q", path, m.Database.Name)
	}
	h, err = tr.Next()
	if err != nil || h.Name != m.Database.Name {
		return nil, "", fmt.Errorf("%s: the database file %s is missing", path, m.Database.Name)
	}
	file := filepath.Join(dir, m.Database.Name)
	out, err := os.OpenFile(file, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, "", err
	}
	hash := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, hash), tr)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	if sum := hex.EncodeToString(hash.Sum(nil)); n != m.Database.Size || sum != m.Database.SHA256 {
		return nil, "", fmt.Errorf("%s is damaged: %s has %d bytes with SHA-256 %s, the manifest says %d bytes, %s", path, m.Database.Name, n, sum, m.Database.Size, m.Database.SHA256)
	}
	return &m, file, nil
}

// runRestore loads a backup into an empty database, brings it up to this
// version's schema, and checks it: the row counts against the manifest and
// the whole ledger. It needs the original secret file and will not make one.
func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c Config
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.bindCommon(fs)
	var file string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	}
	if file == "" {
		return errors.New("usage: jifen restore FILE [--db DSN] [--data DIR] [--secret-file FILE]")
	}
	c.resolve()
	keys, err := secret.Load(c.SecretFile, false)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("the secret file %s does not exist: copy the original deployment's secret file there first (backups never hold it; without it the encrypted ID numbers cannot be read)", c.SecretFile)
	}
	if err != nil {
		return err
	}
	dialect := "sqlite"
	if !strings.HasPrefix(c.DB, "sqlite:") {
		dialect = "postgres"
	}
	dir := os.TempDir()
	if p, ok := strings.CutPrefix(c.DB, "sqlite:"); ok {
		// Beside the target, so the last step is a rename on one disk.
		dir = filepath.Dir(strings.TrimPrefix(p, "file:"))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	tmp, err := os.MkdirTemp(dir, ".jifen-restore-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	m, dbFile, err := readArchive(file, tmp)
	if err != nil {
		return err
	}
	if m.Dialect != dialect {
		return fmt.Errorf("this backup is of a %s database; restore it into %s (give --db)", m.Dialect, m.Dialect)
	}
	if fp := secretFingerprint(keys); fp != m.Secret.Fingerprint {
		return fmt.Errorf("the secret file %s is not the one this backup was made with (fingerprint %s, the backup needs %s, last seen at %s): the encrypted ID numbers would be unreadable", c.SecretFile, fp, m.Secret.Fingerprint, m.Secret.File)
	}
	if err := sqldb.Restore(ctx, c.DB, dbFile, m.Schema); err != nil {
		return err
	}
	db, err := sqldb.Open(ctx, c.DB, keys)
	if err != nil {
		return fmt.Errorf("restored, but the database does not open: %w", err)
	}
	defer db.Close()
	got, err := db.Describe(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s (%s, schema %s, taken %s) into the %s database\n", file, m.Dialect, m.SchemaVersion,
		m.CreatedAt.In(jifen.Zone).Format("2006-01-02 15:04:05"), got.Dialect)
	if len(got.Migrations) == len(m.Migrations) {
		for table, want := range m.Tables {
			if got.Tables[table] != want {
				return fmt.Errorf("restore check FAILED: table %s has %d rows, the backup had %d", table, got.Tables[table], want)
			}
		}
		fmt.Fprintf(stdout, "rows: all %d tables hold what the backup counted\n", len(m.Tables))
	} else {
		fmt.Fprintf(stdout, "schema brought up from %s to %s; rows not compared with the older manifest\n", m.SchemaVersion, got.SchemaVersion())
	}
	r, err := sqldb.NewLedgerService(db).Verify(jifen.WithActor(ctx, jifen.SystemActor()), "")
	if err != nil {
		return err
	}
	if r.Problem != "" {
		return errors.New("restored, but ledger verification FAILED: " + r.Problem)
	}
	if r.LastBlock != m.BlockHash {
		return fmt.Errorf("restore check FAILED: latest block %s, the backup had %s", orNone(r.LastBlock), orNone(m.BlockHash))
	}
	fmt.Fprintf(stdout, "ledger verified: %d transactions, %d blocks, latest block #%d %s\n", r.Transactions, r.Blocks, m.BlockNumber, orNone(r.LastBlock))
	fmt.Fprintf(stdout, "photos: %d claim photos, %d item photos, %d org seals\n", got.Photos["claim_evidence"], got.Photos["item_photos"], got.Photos["org_seals"])
	fmt.Fprintf(stdout, "secret file %s matches the backup; start the server with it\n", c.SecretFile)
	return nil
}
