package web_test

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"testing"
)

// TestClaimWithPhotoOverTheAPI: a mini-program claims a rule that needs
// evidence by sending the photo base64 in the JSON body; without it the
// claim is refused on the photo field, and a photo that is no image too.
func TestClaimWithPhotoOverTheAPI(t *testing.T) {
	t.Parallel()
	eachServiceDB(t, func(t *testing.T, e *svcEnv) {
		village := e.org(t, "新窑村")
		r := e.api(t, "POST", "/api/v1/orgs/"+itoa(village)+"/rules", e.token(t, villageAdmin), map[string]any{"code": "sweep", "name": "清扫村道",
			"category": "environment", "points": 2, "needs_evidence": true})
		r.wantStatus(t, "create a rule", http.StatusCreated)
		rule := jsonInt(t, r.JSON(t), "id")
		res := e.demoMember(t, resident)
		body := map[string]any{"person_id": res.id, "rule_id": rule, "note": "早上扫了村道"}
		wantAPIError(t, "a claim without its photo", e.award(t, res.tok, "c1", body), http.StatusUnprocessableEntity, "invalid", "photo")
		body["photo"] = base64.StdEncoding.EncodeToString([]byte("not a picture"))
		wantAPIError(t, "a photo that is no image", e.award(t, res.tok, "c2", body), http.StatusUnprocessableEntity, "invalid", "photo")

		img := image.NewRGBA(image.Rect(0, 0, 64, 48))
		for x := range 64 {
			img.Set(x, 10, color.RGBA{R: 200, A: 255})
		}
		var jpg bytes.Buffer
		if err := jpeg.Encode(&jpg, img, nil); err != nil {
			t.Fatal(err)
		}
		body["photo"] = base64.StdEncoding.EncodeToString(jpg.Bytes())
		r = e.award(t, res.tok, "c3", body)
		r.wantStatus(t, "a claim with its photo", http.StatusCreated)
		if st := r.JSON(t)["status"]; st != "pending" {
			t.Fatalf("a claim is %v, want pending", st)
		}
		id := jsonInt(t, r.JSON(t), "id")
		got := e.api(t, "GET", "/api/v1/awards/"+itoa(id), res.tok, nil)
		got.wantStatus(t, "read the claim", http.StatusOK)
		if got.JSON(t)["has_evidence"] != true {
			t.Fatalf("the claim keeps no photo: %v", got.JSON(t))
		}
	})
}
