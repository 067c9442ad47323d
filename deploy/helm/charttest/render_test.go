package charttest

import (
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"helm.sh/helm/v4/pkg/strvals"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

// chartDir is the chart under test, relative to this package.
var chartDir = filepath.Join("..", "kiln")

const (
	releaseName = "kiln"
	namespace   = "kiln-test"
	// testKubeVersion is the Kubernetes version rendered for; the chart
	// uses no API that differs between it and the chart's minimum.
	testKubeVersion = "v1.33.0"
)

func kubeVersion(t *testing.T) *common.KubeVersion {
	t.Helper()
	v, err := common.ParseKubeVersion(testKubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// loadChart loads the chart from disk, as `helm install ./deploy/helm/kiln`
// would.
func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	return ch
}

// mergeValues reads values files (testdata/NAME) and --set expressions in
// order, later ones winning, as helm's -f and --set do. A null removes a
// chart default when the values are coalesced with the chart's.
func mergeValues(t *testing.T, files []string, set ...string) map[string]any {
	t.Helper()
	vals := map[string]any{}
	for _, f := range files {
		file, err := common.ReadValuesFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatalf("reading values %s: %v", f, err)
		}
		vals = util.MergeTables(file, vals)
	}
	for _, expr := range set {
		if err := strvals.ParseInto(expr, vals); err != nil {
			t.Fatalf("--set %s: %v", expr, err)
		}
	}
	return vals
}

// capabilities are those of the cluster rendered for.
func capabilities(t *testing.T) *common.Capabilities {
	t.Helper()
	caps := common.DefaultCapabilities.Copy()
	caps.KubeVersion = *kubeVersion(t)
	return caps
}

// render renders the chart client-side as `helm template` does (the
// chart's kubeVersion range, schema validation, templates; no cluster), and
// returns its manifests in install order.
func render(t *testing.T, vals map[string]any) (string, error) {
	t.Helper()
	ch := loadChart(t)
	caps := capabilities(t)
	if !chartutil.IsCompatibleRange(ch.Metadata.KubeVersion, caps.KubeVersion.String()) {
		return "", fmt.Errorf("chart requires kubeVersion %s, incompatible with %s", ch.Metadata.KubeVersion, caps.KubeVersion.Version)
	}
	opts := common.ReleaseOptions{Name: releaseName, Namespace: namespace, Revision: 1, IsInstall: true}
	top, err := util.ToRenderValuesWithSchemaValidation(ch, vals, opts, caps, false)
	if err != nil {
		return "", err
	}
	files, err := engine.Render(ch, top)
	if err != nil {
		return "", err
	}
	delete(files, path.Join(ch.Name(), "templates", "NOTES.txt"))
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return "", err
	}
	if len(hooks) > 0 {
		return "", fmt.Errorf("the chart rendered %d hooks; it has none", len(hooks))
	}
	var out strings.Builder
	for _, m := range manifests {
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", m.Name, m.Content)
	}
	return out.String(), nil
}

// objects are the decoded objects of one rendering, by kind and name.
type objects struct {
	all map[string]runtime.Object // "Kind/name"
}

func (o objects) get(t *testing.T, kind, name string) runtime.Object {
	t.Helper()
	obj, ok := o.all[kind+"/"+name]
	if !ok {
		t.Fatalf("no %s/%s rendered; have %v", kind, name, o.keys())
	}
	return obj
}

func (o objects) has(kind, name string) bool {
	_, ok := o.all[kind+"/"+name]
	return ok
}

func (o objects) keys() []string {
	var keys []string
	for k := range o.all {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (o objects) deployment(t *testing.T) *appsv1.Deployment {
	t.Helper()
	return o.get(t, "Deployment", releaseName).(*appsv1.Deployment)
}

// scheme knows every kind the chart may render, and only those: an object
// of another kind fails decoding.
func newScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme,
		autoscalingv2.AddToScheme, networkingv1.AddToScheme, monitoringv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// decodeStrict decodes every document of a manifest into its Kubernetes
// API type. Unknown or duplicate fields, unknown kinds and documents
// without a name fail: what the API server would reject or silently drop.
func decodeStrict(t *testing.T, manifest string) objects {
	t.Helper()
	decoder := serializer.NewCodecFactory(newScheme(t), serializer.EnableStrict).UniversalDeserializer()
	docs := releaseutil.SplitManifests(manifest)
	if len(docs) == 0 {
		t.Fatal("the chart rendered nothing")
	}
	out := objects{all: map[string]runtime.Object{}}
	for _, key := range slices.Sorted(maps.Keys(docs)) {
		doc := docs[key]
		obj, gvk, err := decoder.Decode([]byte(doc), nil, nil)
		if err != nil {
			t.Fatalf("decoding %s strictly: %v\n---\n%s", sourceOf(doc), err, doc)
		}
		meta, ok := obj.(interface {
			GetName() string
			GetNamespace() string
		})
		if !ok || meta.GetName() == "" {
			t.Fatalf("%s (%s) has no name", sourceOf(doc), gvk)
		}
		if meta.GetNamespace() != namespace {
			t.Errorf("%s/%s is in namespace %q, not the release's %q", gvk.Kind, meta.GetName(), meta.GetNamespace(), namespace)
		}
		id := gvk.Kind + "/" + meta.GetName()
		if _, dup := out.all[id]; dup {
			t.Fatalf("%s rendered twice", id)
		}
		out.all[id] = obj
	}
	return out
}

// sourceOf is the template a document came from, from helm's
// "# Source:" comment.
func sourceOf(doc string) string {
	for line := range strings.Lines(doc) {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source: "); ok {
			return s
		}
	}
	return "a document"
}

// renderOK renders and decodes, failing the test on any error.
func renderOK(t *testing.T, files []string, set ...string) objects {
	t.Helper()
	manifest, err := render(t, mergeValues(t, files, set...))
	if err != nil {
		t.Fatalf("rendering with %v %v: %v", files, set, err)
	}
	return decodeStrict(t, manifest)
}

// renderErr renders expecting a failure, and returns its message.
func renderErr(t *testing.T, files []string, set ...string) string {
	t.Helper()
	manifest, err := render(t, mergeValues(t, files, set...))
	if err == nil {
		t.Fatalf("rendering with %v %v succeeded; want an error. Rendered:\n%s", files, set, manifest)
	}
	return err.Error()
}
