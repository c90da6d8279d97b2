// Package secret holds jifen's keys and the cryptography built on them:
// field encryption (AES-GCM), keyed hashes for uniqueness, signed tokens
// and argon2id passwords. Every instance of a deployment reads the same
// master key, so anything derived from it works across instances.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Keys are the subkeys derived from one master secret.
type Keys struct {
	master  []byte
	enc     cipher.AEAD
	hashKey []byte
	// Session signs CSRF tokens; Code signs rotating QR codes.
	Session []byte
	Code    []byte
}

// New derives the subkeys from a master secret of at least 32 bytes.
func New(master []byte) (*Keys, error) {
	if len(master) < 32 {
		return nil, errors.New("secret: master key must be at least 32 bytes")
	}
	k := &Keys{master: master}
	block, err := aes.NewCipher(k.derive("field-encryption"))
	if err != nil {
		return nil, err
	}
	if k.enc, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	k.hashKey = k.derive("field-hash")
	k.Session = k.derive("session")
	k.Code = k.derive("code")
	return k, nil
}

// derive gives a 32-byte subkey per purpose, so one leaked subkey says
// nothing about the others.
func (k *Keys) derive(label string) []byte {
	m := hmac.New(sha256.New, k.master)
	m.Write([]byte("jifen/" + label))
	return m.Sum(nil)
}

// Load reads the master key from path (hex), creating it when create is
// true and the file does not exist yet.
func Load(path string, create bool) (*Keys, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		master := make([]byte, 32)
		rand.Read(master)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		content := "# jifen master secret: back this file up with the data; encrypted ID numbers cannot be read without it.\n" + hex.EncodeToString(master) + "\n"
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return nil, err
		}
		return New(master)
	}
	if err != nil {
		return nil, fmt.Errorf("secret: read %s: %w", path, err)
	}
	var line string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			line = l
			break
		}
	}
	master, err := hex.DecodeString(line)
	if err != nil {
		return nil, fmt.Errorf("secret: %s does not hold a hex key: %w", path, err)
	}
	return New(master)
}

// Encrypt seals plaintext with AES-GCM; the nonce is prepended.
func (k *Keys) Encrypt(plain []byte) []byte {
	nonce := make([]byte, k.enc.NonceSize())
	rand.Read(nonce)
	return k.enc.Seal(nonce, nonce, plain, nil)
}

// Decrypt opens what Encrypt sealed.
func (k *Keys) Decrypt(sealed []byte) ([]byte, error) {
	n := k.enc.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("secret: ciphertext too short")
	}
	return k.enc.Open(nil, sealed[:n], sealed[n:], nil)
}

// Hash is a keyed hash for finding equal values (unique ID numbers)
// without storing them in the clear.
func (k *Keys) Hash(value string) string {
	m := hmac.New(sha256.New, k.hashKey)
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// MAC signs data with a subkey.
func MAC(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// Token returns n random bytes as URL-safe base64.
func Token(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// SHA256 is the hex digest of s; session tokens and one-time codes are
// stored only as digests.
func SHA256(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// PasswordParams are argon2id's cost settings.
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultPasswordParams follow OWASP's argon2id minimum (19 MiB, 2 passes,
// 1 lane): about 30 ms on this class of machine, so a sign-in storm
// cannot exhaust two cores' memory.
var DefaultPasswordParams = PasswordParams{Memory: 19 * 1024, Time: 2, Threads: 1}

// HashPassword returns an encoded argon2id hash with its parameters.
func HashPassword(pw string, p PasswordParams) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, 32)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// CheckPassword compares pw with an encoded hash in constant time.
func CheckPassword(pw, encoded string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var p PasswordParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || p.Memory > 1<<20 || p.Time > 10 || p.Threads == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// DummyCheck burns the same time as a real check, so a sign-in for an
// unknown phone takes as long as one for a known phone.
func DummyCheck(pw string, p PasswordParams) {
	argon2.IDKey([]byte(pw), []byte("jifen-dummy-salt"), p.Time, p.Memory, p.Threads, 32)
}
