package main

import (
	"flag"
	"os"
	"path/filepath"
)

// Config is the whole configuration: flags, with JIFEN_* environment
// variables as defaults. It is passed down explicitly; there are no globals.
type Config struct {
	Addr       string
	DB         string
	DataDir    string
	PublicURL  string
	SecretFile string
	TLSCert    string
	TLSKey     string
	TrustProxy bool
	Demo       bool
	// secretDefault: the secret's path is the data folder's default, the
	// only one ever generated; one named by flag or environment must exist.
	secretDefault bool
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// bindCommon registers the flags every command that opens the database shares.
func (c *Config) bindCommon(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data", env("JIFEN_DATA", "jifen-data"), "data folder: the SQLite file and the generated secret live here (JIFEN_DATA)")
	fs.StringVar(&c.DB, "db", env("JIFEN_DB", ""), "database: sqlite:PATH or a postgres:// URL (JIFEN_DB); default sqlite in the data folder")
	fs.StringVar(&c.SecretFile, "secret-file", env("JIFEN_SECRET_FILE", ""), "master secret shared by every instance (JIFEN_SECRET_FILE); default generated once in the data folder")
}

// bindServe registers the server's flags.
func (c *Config) bindServe(fs *flag.FlagSet) {
	c.bindCommon(fs)
	fs.StringVar(&c.Addr, "addr", env("JIFEN_ADDR", "127.0.0.1:8080"), "listen address (JIFEN_ADDR)")
	fs.StringVar(&c.PublicURL, "public-url", env("JIFEN_PUBLIC_URL", ""), "the address people reach, used in QR codes and links (JIFEN_PUBLIC_URL)")
	fs.StringVar(&c.TLSCert, "tls-cert", env("JIFEN_TLS_CERT", ""), "TLS certificate file: phones allow camera and location only over HTTPS")
	fs.StringVar(&c.TLSKey, "tls-key", env("JIFEN_TLS_KEY", ""), "TLS key file")
	fs.BoolVar(&c.TrustProxy, "trust-proxy", env("JIFEN_TRUST_PROXY", "") == "1", "take client addresses from X-Forwarded-For (behind a reverse proxy)")
	fs.BoolVar(&c.Demo, "demo", false, "fill an empty database with a demo county and print one login per role")
}

// resolve fills the defaults that depend on other settings.
func (c *Config) resolve() {
	if c.DB == "" {
		c.DB = "sqlite:" + filepath.Join(c.DataDir, "jifen.db")
	}
	if c.SecretFile == "" {
		c.SecretFile = filepath.Join(c.DataDir, "secret.key")
		c.secretDefault = true
	}
	if c.PublicURL == "" {
		scheme := "http"
		if c.TLSCert != "" {
			scheme = "https"
		}
		c.PublicURL = scheme + "://" + c.Addr
	}
}
