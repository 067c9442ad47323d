package wizard

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// skeletonNote is the error of a tool started from a skeleton: it compiles
// and runs, but does nothing yet, so it never passes on its own.
const skeletonNote = "started from a skeleton, which compiles but does nothing yet: write the handler in main.go, then rebuild"

var propName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,63}$`)

// skeleton writes a compiling main.go for a spec: In and Out structs from
// the schemas, a handler returning a "not implemented" error, and the
// module's env vars and egress hosts. It is what a person starts from when
// no LLM is configured; nothing in it pretends to be generated.
func skeleton(s Spec) (map[string]string, error) {
	in, err := structFields(s.InputSchema)
	if err != nil {
		return nil, fmt.Errorf("input_schema: %w", err)
	}
	var out []string
	if len(s.OutputSchema) > 0 {
		if out, err = structFields(s.OutputSchema); err != nil {
			return nil, fmt.Errorf("output_schema: %w", err)
		}
	}
	var b strings.Builder
	b.WriteString("// Command " + s.Name + " was started from a Kiln skeleton: write the handler.\npackage main\n\n")
	b.WriteString("import (\n\t\"context\"\n\t\"errors\"\n\n\t\"github.com/kilnhq/kiln/toolkits/go/kiln\"\n)\n\n")
	b.WriteString("type input struct {\n" + strings.Join(in, "") + "}\n\n")
	outType := "string"
	if s.OutputSchema != nil {
		outType = "output"
		b.WriteString("type output struct {\n" + strings.Join(out, "") + "}\n\n")
	}
	fmt.Fprintf(&b, "func handle(ctx context.Context, in input) (%s, error) {\n", outType)
	fmt.Fprintf(&b, "\tvar out %s\n\treturn out, errors.New(%s)\n}\n\n", outType, strconv.Quote("not implemented yet: "+s.Name+" is a skeleton"))
	b.WriteString("func main() {\n\tkiln.Run(kiln.Module{\n")
	fmt.Fprintf(&b, "\t\tTools: []kiln.Tool{kiln.NewTool(%s, %s, handle)},\n", strconv.Quote(s.Name), strconv.Quote(s.Description))
	if len(s.Env) > 0 {
		b.WriteString("\t\tEnv: []kiln.EnvVar{\n")
		for _, e := range s.Env {
			fmt.Fprintf(&b, "\t\t\t{Name: %s, Description: %s, Required: %t, Secret: %t},\n",
				strconv.Quote(e.Name), strconv.Quote(e.Description), e.Required, e.Secret)
		}
		b.WriteString("\t\t},\n")
	}
	if len(s.Egress) > 0 {
		quoted := make([]string, len(s.Egress))
		for i, h := range s.Egress {
			quoted[i] = strconv.Quote(h)
		}
		b.WriteString("\t\tEgress: []string{" + strings.Join(quoted, ", ") + "},\n")
	}
	b.WriteString("\t})\n}\n")
	return map[string]string{"main.go": b.String()}, nil
}

// structFields turns an object schema's properties into Go struct fields.
func structFields(raw json.RawMessage) ([]string, error) {
	var sch struct {
		Properties map[string]struct {
			Type        any    `json:"type"`
			Description string `json:"description"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	if err := json.Unmarshal(raw, &sch); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(sch.Properties))
	for n := range sch.Properties {
		if !propName.MatchString(n) {
			return nil, fmt.Errorf("property %q: a skeleton needs names of letters, digits, _ and -", n)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	used := map[string]bool{}
	fields := make([]string, 0, len(names))
	for _, n := range names {
		p := sch.Properties[n]
		tag := n
		if !contains(sch.Required, n) {
			tag += ",omitempty"
		}
		desc := strings.Map(func(r rune) rune {
			if r == '`' || r == '"' || r == '\\' || unicode.IsControl(r) {
				return ' '
			}
			return r
		}, p.Description)
		fields = append(fields, fmt.Sprintf("\t%s %s `json:%q description:%q`\n", goName(n, used), goType(p.Type), tag, desc))
	}
	return fields, nil
}

func goType(t any) string {
	switch t {
	case "string":
		return "string"
	case "integer":
		return "int64"
	case "number":
		return "float64"
	case "boolean":
		return "bool"
	case "array":
		return "[]any"
	case "object":
		return "map[string]any"
	}
	return "any"
}

// goName makes an exported, unused Go identifier of a property name.
func goName(prop string, used map[string]bool) string {
	var b strings.Builder
	upper := true
	for _, r := range prop {
		if r == '_' || r == '-' {
			upper = true
			continue
		}
		if upper {
			r = unicode.ToUpper(r)
			upper = false
		}
		b.WriteRune(r)
	}
	name := b.String()
	if name == "" || !unicode.IsLetter(rune(name[0])) {
		name = "F" + name
	}
	base := name
	for i := 2; used[name]; i++ {
		name = base + strconv.Itoa(i)
	}
	used[name] = true
	return name
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
