package secret

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testKeys(t testing.TB) *Keys {
	k, err := New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestEncryptedFieldsRoundTripAndDiffer(t *testing.T) {
	k := testKeys(t)
	a, b := k.Encrypt([]byte("411102198808219315")), k.Encrypt([]byte("411102198808219315"))
	if bytes.Equal(a, b) {
		t.Fatal("two encryptions of one value are equal: the nonce is not random")
	}
	plain, err := k.Decrypt(a)
	if err != nil || string(plain) != "411102198808219315" {
		t.Fatalf("round trip: %q %v", plain, err)
	}
	a[len(a)-1] ^= 1
	if _, err := k.Decrypt(a); err == nil {
		t.Fatal("a tampered ciphertext decrypted")
	}
}

func TestAnotherMasterKeyCannotRead(t *testing.T) {
	other, _ := New([]byte("another-master-key-0123456789abcdef"))
	if _, err := other.Decrypt(testKeys(t).Encrypt([]byte("x"))); err == nil {
		t.Fatal("a different key decrypted the field")
	}
	if other.Hash("x") == testKeys(t).Hash("x") {
		t.Fatal("keyed hashes do not depend on the key")
	}
}

func TestShortMasterKeyIsRefused(t *testing.T) {
	if _, err := New([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestLoadCreatesTheFileOnceAndReadsItBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "secret.key")
	if _, err := Load(path, false); err == nil {
		t.Fatal("missing file loaded without create")
	}
	k1, err := Load(path, true)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode %v, want 0600", info.Mode().Perm())
	}
	k2, err := Load(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if k1.Hash("a") != k2.Hash("a") {
		t.Fatal("reloading gave another key")
	}
	os.WriteFile(path, []byte("# comment\nnot-hex\n"), 0o600)
	if _, err := Load(path, true); err == nil || !strings.Contains(err.Error(), "hex") {
		t.Fatalf("bad file: %v", err)
	}
}

func TestPasswordsCheckAndRejectTampering(t *testing.T) {
	p := PasswordParams{Memory: 64, Time: 1, Threads: 1}
	h := HashPassword("长城长城长城长城长城长城长城长城长城长城长城长城长城长城", p)
	if !CheckPassword("长城长城长城长城长城长城长城长城长城长城长城长城长城长城", h) {
		t.Fatal("right password refused (long Chinese passwords must work: no 72-byte cut)")
	}
	if CheckPassword("长城长城长城长城长城长城长城长城长城长城长城长城长城长", h) {
		t.Fatal("a password one character short was accepted")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=64,t=1,p=1$x$y", "$bcrypt$", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA"} {
		if CheckPassword("x", bad) {
			t.Fatalf("malformed hash %q accepted", bad)
		}
	}
}

// BenchmarkPasswordHash measures the production argon2id cost: the time a
// sign-in spends on purpose.
func BenchmarkPasswordHash(b *testing.B) {
	for b.Loop() {
		HashPassword("correct horse battery staple", DefaultPasswordParams)
	}
}
