package web

import (
	"bytes"
	"io"
	"net/http"
	"path/filepath"

	"jifen"
	"jifen/importer"
)

func (s *Server) importPage(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	orgs, err := s.formOrgs(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "import", map[string]any{"Orgs": orgs, "OrgID": formInt(r, "org_id")})
}

// parseRoster reads a roster for an org: organisation names in the file
// are looked up inside that org's subtree.
func (s *Server) parseRoster(r *http.Request, orgID int64, name string, data []byte) (*importer.Roster, error) {
	ctx := r.Context()
	return importer.Parse(bytes.NewReader(data), name, importer.Options{
		DefaultOrgID: orgID,
		ResolveOrg: func(name string) (int64, error) {
			o, err := s.svc.Orgs.FindOrgByName(ctx, orgID, name)
			if err != nil {
				return 0, err
			}
			return o.ID, nil
		},
	})
}

// importUpload keeps the file and shows a dry run: every bad row with its
// column and reason. Nothing is written to people yet.
func (s *Server) importUpload(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	orgID := formInt(r, "org_id")
	orgs, err := s.formOrgs(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := map[string]any{"Orgs": orgs, "OrgID": orgID}
	if _, err := s.svc.Orgs.Org(r.Context(), orgID); err != nil {
		s.formFail(w, r, "import", data, jifen.Invalid("org_id", "请选择导入到哪个组织", "Choose the organisation to import into"))
		return
	}
	f, hdr, err := r.FormFile("file")
	if err != nil {
		s.formFail(w, r, "import", data, jifen.Invalid("file", "请选择要导入的Excel或CSV文件", "Choose an Excel or CSV file"))
		return
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		s.formFail(w, r, "import", data, err)
		return
	}
	name := filepath.Base(hdr.Filename)
	roster, err := s.parseRoster(r, orgID, name, b)
	if err != nil {
		s.formFail(w, r, "import", data, err)
		return
	}
	id, err := s.svc.Uploads.SaveUpload(r.Context(), name, b)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data["Roster"], data["UploadID"], data["FileName"], data["ValidCount"] = roster, id, name, len(roster.Valid())
	s.render(w, r, http.StatusOK, "import", data)
}

// importCommit writes the previewed roster in one transaction. While any
// row is bad nothing is written, unless the admin chose to skip bad rows.
func (s *Server) importCommit(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	orgID := formInt(r, "org_id")
	name, b, err := s.svc.Uploads.Upload(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	orgs, err := s.formOrgs(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := map[string]any{"Orgs": orgs, "OrgID": orgID}
	roster, err := s.parseRoster(r, orgID, name, b)
	if err != nil {
		s.formFail(w, r, "import", data, err)
		return
	}
	if len(roster.Errors) > 0 && r.FormValue("skip_invalid") != "yes" {
		data["Roster"], data["UploadID"], data["FileName"], data["ValidCount"] = roster, id, name, len(roster.Valid())
		s.formFail(w, r, "import", data, jifen.Invalid("skip_invalid", "文件中还有错误行：请修改后重新上传，或选择跳过错误行", "The file still has bad rows: fix them and upload again, or choose to skip them"))
		return
	}
	res, err := s.svc.People.ImportPeople(r.Context(), orgID, roster.Valid())
	if err != nil {
		data["Roster"], data["UploadID"], data["FileName"], data["ValidCount"] = roster, id, name, len(roster.Valid())
		s.formFail(w, r, "import", data, err)
		return
	}
	data["Result"], data["Skipped"] = res, len(roster.Errors)
	s.render(w, r, http.StatusOK, "import", data)
}
