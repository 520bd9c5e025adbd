package api

import (
	"net/http"

	"crieur/board"
	"crieur/board/httpx"
)

// serviceRequest is what PUT …/services/{slug} takes: the slug is the
// address's.
type serviceRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Address     string `json:"address"`
	Logo        string `json:"logo"`
	Position    int    `json:"position"`
}

// listServices answers a board's services, in their order.
func (api *API) listServices(w http.ResponseWriter, r *http.Request, c call) {
	list, err := api.svc.HostedServices(r.Context(), c.Board)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	if list == nil {
		list = []board.HostedService{}
	}
	httpx.JSON(w, http.StatusOK, list)
}

// getService answers one service of a board.
func (api *API) getService(w http.ResponseWriter, r *http.Request, c call) {
	list, err := api.svc.HostedServices(r.Context(), c.Board)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	for _, h := range list {
		if h.Slug == r.PathValue("slug") {
			httpx.JSON(w, http.StatusOK, h)
			return
		}
	}
	api.fail(w, r, board.ErrNotFound)
}

// putService adds the service of the address's slug, or replaces it:
// 201 when it is new, 200 when it replaced one.
func (api *API) putService(w http.ResponseWriter, r *http.Request, c call) {
	var req serviceRequest
	if err := httpx.DecodeJSON(w, r, &req, httpx.Decoding{Max: 16 << 10, What: "a service",
		Help: `{"name": "Mail", "description": "…", "address": "https://mail.example.org", "position": 1}`}); err != nil {
		api.fail(w, r, err)
		return
	}
	h, created, err := api.svc.SetHostedService(r.Context(), c.actor(), c.Board, board.HostedService{Slug: r.PathValue("slug"),
		Name: req.Name, Description: req.Description, Address: req.Address, Logo: req.Logo, Position: req.Position})
	if err != nil {
		api.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	httpx.JSON(w, status, h)
}

// removeService takes a service off the board; its outage notices stay.
func (api *API) removeService(w http.ResponseWriter, r *http.Request, c call) {
	if err := api.svc.RemoveHostedService(r.Context(), c.actor(), c.Board, r.PathValue("slug")); err != nil {
		api.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
