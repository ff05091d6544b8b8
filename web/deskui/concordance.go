package deskui

import (
	"net/http"
	"strings"

	"github.com/good-offices/goodoffices/internal/docx"
	"github.com/good-offices/goodoffices/negotiation"
)

// concordanceData is the concordance page of a text: every language
// version of every paragraph side by side.
type concordanceData struct {
	Text  *negotiation.Text
	Table *negotiation.ConcordanceTable
}

func (s *Server) concordance(w http.ResponseWriter, r *http.Request) {
	m, t, ok := s.findText(w, r)
	if !ok {
		return
	}
	s.render(w, r, "concordance", t.Title+" — "+s.tr(r, "Concordance"), m, concordanceData{Text: t, Table: m.State.Concordance(t.ID)})
}

// postConcord confirms, for this desk's delegation, every wording of a
// language version it has not confirmed yet.
func (s *Server) postConcord(w http.ResponseWriter, r *http.Request) {
	_, t, ok := s.findText(w, r)
	if !ok {
		return
	}
	back := s.textURL(t, "/concordance")
	lang := r.FormValue("lang")
	if _, parts, err := s.d.Concord(r.Context(), s.textChannel(t), s.o.Host, t.ID, lang, nil); err != nil {
		redirect(w, r, back, s.tr(r, "Concordance not confirmed: %s", err.Error()), true)
	} else {
		s.Notify([]string{s.textChannel(t)})
		redirect(w, r, back, s.tr(r, "Concordance confirmed for %d wordings in %s.", len(parts), strings.ToUpper(lang)), false)
	}
}

// docxDownload sends the current text as a Word document.
func (s *Server) docxDownload(w http.ResponseWriter, r *http.Request) {
	m, t, ok := s.findText(w, r)
	if !ok {
		return
	}
	b, err := docx.Export(m.State, t.ID, docx.ExportOptions{})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
	w.Header().Set("Content-Disposition", `attachment; filename="`+t.ID+`.docx"`)
	w.Write(b)
}
