package api

import (
	"time"

	"github.com/kilnhq/kiln/pkg/store"
)

// The JSON shapes of responses. They are separate from the store's rows so
// that a column added to the store (a key's hash, a sealed value) is never
// published by accident; openapi.json describes each of them.

type customerView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Tier      string    `json:"tier"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func viewCustomer(c store.Customer) customerView {
	return customerView{ID: c.ID, Name: c.Name, Tier: c.Tier, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

type apiKeyView struct {
	ID         string     `json:"id"`
	CustomerID string     `json:"customer_id"`
	ServerID   *string    `json:"server_id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	// Tools are the only tools a server key may list and call; absent: all.
	Tools []string `json:"tools,omitempty"`
	// Key is the key itself, present only in the answer that created it.
	Key string `json:"key,omitempty"`
}

func viewAPIKey(k store.APIKey) apiKeyView {
	return apiKeyView{ID: k.ID, CustomerID: k.CustomerID, ServerID: k.ServerID, Name: k.Name, Prefix: k.Prefix,
		CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt, Tools: k.Tools}
}

// viewAPIKeys is the listing of keys, the customer's or a server's.
func viewAPIKeys(keys []store.APIKey) list[apiKeyView] {
	out := list[apiKeyView]{Items: make([]apiKeyView, 0, len(keys))}
	for _, k := range keys {
		out.Items = append(out.Items, viewAPIKey(k))
	}
	return out
}

type serverView struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	Description    string    `json:"description"`
	AllowedHosts   []string  `json:"allowed_hosts"`
	RecordPayloads bool      `json:"record_payloads"`
	Version        int64     `json:"version"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

func viewServer(s store.Server) serverView {
	hosts := []string(s.AllowedHosts)
	if hosts == nil {
		hosts = []string{}
	}
	return serverView{ID: s.ID, Name: s.Name, Description: s.Description, AllowedHosts: hosts,
		RecordPayloads: s.RecordPayloads, Version: s.Version, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

type toolVersionView struct {
	Version        int       `json:"version"`
	ModuleHash     string    `json:"module_hash"`
	ModuleTool     string    `json:"module_tool"`
	Source         string    `json:"source"`
	LibraryName    *string   `json:"library_name"`
	LibraryVersion *string   `json:"library_version"`
	CreatedBy      string    `json:"created_by"`
	CreatedAt      time.Time `json:"created_at"`
}

func viewToolVersion(v store.ToolVersion) toolVersionView {
	return toolVersionView{Version: v.Version, ModuleHash: v.ModuleHash, ModuleTool: v.ModuleTool, Source: v.Source,
		LibraryName: v.LibraryName, LibraryVersion: v.LibraryVersion, CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt}
}

type toolView struct {
	ID       string          `json:"id"`
	ServerID string          `json:"server_id"`
	Name     string          `json:"name"`
	Current  toolVersionView `json:"current"`
	// Versions lists every version, oldest first, when one tool is read.
	Versions  []toolVersionView `json:"versions,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

func viewTool(t store.Tool, current store.ToolVersion) toolView {
	return toolView{ID: t.ID, ServerID: t.ServerID, Name: t.Name, Current: viewToolVersion(current),
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

// envVarView has no value field on purpose: values are write-only.
type envVarView struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Secret      bool      `json:"secret"`
	Required    bool      `json:"required"`
	Hosts       []string  `json:"hosts"`
	HasValue    bool      `json:"has_value"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// ValueCleared is set in the answer to a declaration: whether it
	// deleted the stored value (a change of secrecy or of a secret's hosts).
	ValueCleared *bool `json:"value_cleared,omitempty"`
}

func viewEnvVar(e store.EnvVar) envVarView {
	hosts := []string(e.Hosts)
	if hosts == nil {
		hosts = []string{}
	}
	return envVarView{Name: e.Name, Description: e.Description, Secret: e.Secret, Required: e.Required,
		Hosts: hosts, HasValue: e.HasValue, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
}

type executionView struct {
	ID         int64      `json:"id"`
	ServerID   string     `json:"server_id"`
	ToolName   string     `json:"tool_name"`
	ModuleHash string     `json:"module_hash"`
	Actor      string     `json:"actor"`
	Outcome    string     `json:"outcome"`
	FuelUsed   int64      `json:"fuel_used"`
	MemoryPeak int64      `json:"memory_peak"`
	DurationMS float64    `json:"duration_ms"`
	Arguments  store.JSON `json:"arguments"`
	Result     store.JSON `json:"result"`
	StartedAt  time.Time  `json:"started_at"`
}

func viewExecution(e store.Execution) executionView {
	return executionView{ID: e.ID, ServerID: e.ServerID, ToolName: e.ToolName, ModuleHash: e.ModuleHash, Actor: e.Actor,
		Outcome: e.Outcome, FuelUsed: e.FuelUsed, MemoryPeak: e.MemoryPeak,
		DurationMS: float64(e.Duration) / float64(time.Millisecond), Arguments: e.Arguments, Result: e.Result, StartedAt: e.StartedAt}
}

type auditView struct {
	ID         int64      `json:"id"`
	Actor      string     `json:"actor"`
	CustomerID *string    `json:"customer_id"`
	Action     string     `json:"action"`
	Target     string     `json:"target"`
	Details    store.JSON `json:"details"`
	CreatedAt  time.Time  `json:"created_at"`
}

func viewAudit(a store.AuditEntry) auditView {
	return auditView{ID: a.ID, Actor: a.Actor, CustomerID: a.CustomerID, Action: a.Action, Target: a.Target,
		Details: a.Details, CreatedAt: a.CreatedAt}
}

// moduleToolView is one tool a module offers, as its manifest describes it.
type moduleToolView struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type libraryView struct {
	Name        string           `json:"name"`
	Version     string           `json:"version"`
	Description string           `json:"description"`
	ModuleHash  string           `json:"module_hash"`
	ModuleSize  int64            `json:"module_size"`
	Tools       []moduleToolView `json:"tools"`
	Signer      string           `json:"signer"`
	MinTier     string           `json:"min_tier"`
	Deprecated  bool             `json:"deprecated"`
	UploadedBy  string           `json:"uploaded_by"`
	CreatedAt   time.Time        `json:"created_at"`
	UpdatedAt   time.Time        `json:"updated_at"`
}

// availableLibraryView is what a customer sees of a library module.
type availableLibraryView struct {
	Name        string           `json:"name"`
	Version     string           `json:"version"`
	Description string           `json:"description"`
	Tools       []moduleToolView `json:"tools"`
	MinTier     string           `json:"min_tier"`
	// Available says whether the customer's plan may add it.
	Available bool `json:"available"`
}

// list is the shape of every list answer; NextBefore pages backwards
// through logs (pass it as ?before=).
type list[T any] struct {
	Items      []T    `json:"items"`
	NextBefore *int64 `json:"next_before,omitempty"`
}
