package charttest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
)

// TestLint runs helm lint's rules (Chart.yaml, values against the schema,
// templates rendered and parsed) with the required values alone and with
// the HA and token-metrics values; as with --strict, warnings fail too.
func TestLint(t *testing.T) {
	for _, files := range [][]string{{"required.yaml"}, {"required.yaml", "ha.yaml"}, {"required.yaml", "token-metrics.yaml"}} {
		t.Run(strings.Join(files, "+"), func(t *testing.T) {
			res := lint.RunAll(chartDir, mergeValues(t, files), namespace, lint.WithKubeVersion(kubeVersion(t)))
			for _, m := range res.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("lint: %s", m)
				}
			}
		})
	}
}

// TestRenderRequiredOnly renders the chart's defaults plus the three
// required values.
func TestRenderRequiredOnly(t *testing.T) {
	objs := renderOK(t, []string{"required.yaml"})
	checkCommon(t, objs)
	if want := []string{"Deployment/kiln", "PodDisruptionBudget/kiln", "Service/kiln", "ServiceAccount/kiln"}; !slices.Equal(objs.keys(), want) {
		t.Errorf("rendered %v, want %v", objs.keys(), want)
	}
	d := objs.deployment(t)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Errorf("replicas %v, want 3", d.Spec.Replicas)
	}
	pod := d.Spec.Template.Spec
	if got := pod.Containers[0].Image; got != "registry.example.com/kiln:0.1.0" {
		t.Errorf("image %q, want the repository with the chart's appVersion", got)
	}
	env := envOf(pod.Containers[0])
	for name, want := range map[string]string{
		"KILN_METRICS_ADDR":      ":9090",
		"KILN_LOG_FORMAT":        "json",
		"KILN_DB_MAX_OPEN_CONNS": "20",
	} {
		if got := env[name]; got.Value != want {
			t.Errorf("%s=%q, want %q", name, got.Value, want)
		}
	}
	if _, ok := env["KILN_REDIS_URL"]; !ok {
		t.Error("KILN_REDIS_URL is not set: several pods need Redis for shared limits")
	}
	pdb := objs.get(t, "PodDisruptionBudget", "kiln").(*policyv1.PodDisruptionBudget)
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
		t.Errorf("PDB maxUnavailable %v minAvailable %v, want 1 and unset", pdb.Spec.MaxUnavailable, pdb.Spec.MinAvailable)
	}
}

// TestRenderHA renders with autoscaling, a PDB by minAvailable, a
// NetworkPolicy and a ServiceMonitor, and checks that they point at the
// Deployment's pods and ports.
func TestRenderHA(t *testing.T) {
	objs := renderOK(t, []string{"required.yaml", "ha.yaml"})
	checkCommon(t, objs)
	d := objs.deployment(t)
	if d.Spec.Replicas != nil {
		t.Errorf("replicas %d set with autoscaling on: every upgrade would reset the HPA's choice", *d.Spec.Replicas)
	}
	pod := d.Spec.Template.Spec
	if want := "registry.example.com/kiln@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"; pod.Containers[0].Image != want {
		t.Errorf("image %q, want %q", pod.Containers[0].Image, want)
	}
	env := envOf(pod.Containers[0])
	for name, key := range map[string]string{"KILN_LLM_KEY_1": "anthropic-key", "KILN_LLM_KEY_2": "openai-key", "KILN_OIDC_CLIENT_SECRET": "oidc-client-secret"} {
		if ref := env[name].ValueFrom; ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Key != key {
			t.Errorf("%s: want the Secret's key %q, got %+v", name, key, env[name])
		}
	}
	if env["KILN_READ_TIMEOUT"].Value != "2m" || env["KILN_OIDC_ISSUER"].Value != "https://idp.example.com" {
		t.Errorf("extraEnv or OIDC settings missing: %+v %+v", env["KILN_READ_TIMEOUT"], env["KILN_OIDC_ISSUER"])
	}

	hpa := objs.get(t, "HorizontalPodAutoscaler", "kiln").(*autoscalingv2.HorizontalPodAutoscaler)
	if ref := hpa.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.Name != d.Name || ref.APIVersion != "apps/v1" {
		t.Errorf("HPA targets %+v, not the Deployment", ref)
	}
	if *hpa.Spec.MinReplicas != 3 || hpa.Spec.MaxReplicas != 6 || len(hpa.Spec.Metrics) != 1 || hpa.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU {
		t.Errorf("HPA %d..%d on %+v", *hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas, hpa.Spec.Metrics)
	}

	pdb := objs.get(t, "PodDisruptionBudget", "kiln").(*policyv1.PodDisruptionBudget)
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 2 || pdb.Spec.MaxUnavailable != nil {
		t.Errorf("PDB minAvailable %v maxUnavailable %v, want 2 and unset", pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable)
	}

	checkNetworkPolicy(t, objs.get(t, "NetworkPolicy", "kiln").(*networkingv1.NetworkPolicy), d.Spec.Template.Labels)

	sm := objs.get(t, "ServiceMonitor", "kiln").(*monitoringv1.ServiceMonitor)
	if sm.Labels["release"] != "prometheus" {
		t.Errorf("ServiceMonitor labels %v lack release=prometheus from values", sm.Labels)
	}
	ep := checkServiceMonitor(t, objs, sm)
	if ep.Port != "metrics" || ep.Authorization != nil {
		t.Errorf("ServiceMonitor endpoint %+v: want the metrics port, unauthenticated", ep)
	}
}

// TestRenderTokenMetrics: with metrics.port 0 nothing listens on a metrics
// port, and the ServiceMonitor scrapes the service port with the operator
// token from the Secret.
func TestRenderTokenMetrics(t *testing.T) {
	objs := renderOK(t, []string{"required.yaml", "token-metrics.yaml"})
	checkCommon(t, objs)
	c := objs.deployment(t).Spec.Template.Spec.Containers[0]
	if _, ok := envOf(c)["KILN_METRICS_ADDR"]; ok {
		t.Error("KILN_METRICS_ADDR set with metrics.port 0")
	}
	for _, p := range c.Ports {
		if p.Name == "metrics" {
			t.Error("a metrics container port with metrics.port 0")
		}
	}
	ep := checkServiceMonitor(t, objs, objs.get(t, "ServiceMonitor", "kiln").(*monitoringv1.ServiceMonitor))
	if ep.Port != "http" || ep.Authorization == nil || ep.Authorization.Credentials == nil {
		t.Fatalf("ServiceMonitor endpoint %+v: want the http port with the operator token", ep)
	}
	if cred := ep.Authorization.Credentials; cred.Name != "kiln" || cred.Key != "operator-token" {
		t.Errorf("ServiceMonitor reads the token from %s/%s, want kiln/operator-token", cred.Name, cred.Key)
	}
}

// TestRenderSingle: one pod may count rate limits itself, and needs no
// Redis URL.
func TestRenderSingle(t *testing.T) {
	objs := renderOK(t, []string{"required.yaml", "single.yaml"})
	checkCommon(t, objs)
	d := objs.deployment(t)
	if *d.Spec.Replicas != 1 {
		t.Errorf("replicas %d, want 1", *d.Spec.Replicas)
	}
	if _, ok := envOf(d.Spec.Template.Spec.Containers[0])["KILN_REDIS_URL"]; ok {
		t.Error("KILN_REDIS_URL set with redis.enabled=false")
	}
	if objs.has("PodDisruptionBudget", "kiln") {
		t.Error("a PDB with podDisruptionBudget.enabled=false")
	}
}

// TestRenderRefuses: missing required values and inconsistent settings
// fail rendering with a message naming the value to set.
func TestRenderRefuses(t *testing.T) {
	req := []string{"required.yaml"}
	for _, tc := range []struct {
		name  string
		files []string
		set   []string
		want  []string
	}{
		{"nothing set", nil, nil, []string{"image.repository is required"}},
		{"no image", req, []string{"image.repository="}, []string{"image.repository is required"}},
		{"no public URL", req, []string{"kiln.publicURL="}, []string{"kiln.publicURL is required", "https URL"}},
		{"no secret", req, []string{"secrets.existingSecret="}, []string{"secrets.existingSecret is required", "database-url"}},
		{"http public URL", req, []string{"kiln.publicURL=http://kiln.example.com"}, []string{"/kiln/publicURL"}},
		{"misspelt value", req, []string{"kiln.publicUrl=https://x.example.com"}, []string{"publicUrl"}},
		{"bad digest", req, []string{"image.digest=latest"}, []string{"/image/digest"}},
		{"bad log level", req, []string{"kiln.logLevel=verbose"}, []string{"/kiln/logLevel"}},
		{"no redis, 3 pods", req, []string{"redis.enabled=false"}, []string{"redis.enabled=false with up to 3 pods"}},
		{"no redis, autoscaled", req, []string{"redis.enabled=false", "replicaCount=1", "autoscaling.enabled=true"}, []string{"redis.enabled=false with up to 6 pods"}},
		{"too many connections", req, []string{"autoscaling.enabled=true", "autoscaling.maxReplicas=10"}, []string{"database connections", "database.maxConnections 100"}},
		{"min over max", req, []string{"autoscaling.enabled=true", "autoscaling.minReplicas=4", "autoscaling.maxReplicas=3", "database.maxOpenConns=5", "database.maxIdleConns=5"}, []string{"autoscaling.minReplicas (4) must not exceed autoscaling.maxReplicas (3)"}},
		{"idle over open", req, []string{"database.maxIdleConns=30"}, []string{"database.maxIdleConns (30)"}},
		{"network policy without database", req, []string{"networkPolicy.enabled=true"}, []string{"networkPolicy.databaseTo is required"}},
		{"bad PDB", req, []string{"podDisruptionBudget.maxUnavailable=-1"}, []string{"/podDisruptionBudget/maxUnavailable"}},
		{"metrics on the service port", req, []string{"metrics.port=8080"}, []string{"metrics.port (8080) must differ from containerPort"}},
		{"OIDC without client", req, []string{"kiln.oidc.issuer=https://idp.example.com"}, []string{"kiln.oidc.clientID is required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := renderErr(t, tc.files, tc.set...)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

// checkCommon checks what every rendering must hold: no Secret or
// ConfigMap (the chart has no secret values), every secret read from the
// existing Secret, the pod hardened, probes on /readyz and /livez, the
// migration first, the grace period covering the drain, writable volumes
// where the image writes, and Service and PDB selecting the pods.
func checkCommon(t *testing.T, objs objects) {
	t.Helper()
	for _, k := range objs.keys() {
		if strings.HasPrefix(k, "Secret/") || strings.HasPrefix(k, "ConfigMap/") {
			t.Errorf("the chart rendered %s; every secret must come from secrets.existingSecret", k)
		}
	}
	d := objs.deployment(t)
	pod := d.Spec.Template.Spec
	checkPodSecurity(t, pod)
	checkRestricted(t, d.Spec.Template.ObjectMeta, pod)
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Error("service links are on: a Service named kiln would inject KILN_* variables into the pods")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the service account token is mounted; Kiln never calls the Kubernetes API")
	}
	if len(pod.InitContainers) != 1 || !slices.Equal(pod.InitContainers[0].Args, []string{"migrate"}) {
		t.Fatalf("want one init container running kiln migrate, got %+v", pod.InitContainers)
	}
	if len(pod.Containers) != 1 || !slices.Equal(pod.Containers[0].Args, []string{"serve"}) {
		t.Fatalf("want one container running kiln serve, got %d", len(pod.Containers))
	}
	main := pod.Containers[0]
	if pod.InitContainers[0].Image != main.Image {
		t.Errorf("migration image %q differs from the server's %q", pod.InitContainers[0].Image, main.Image)
	}
	for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		checkSecretEnv(t, c)
		checkVolumes(t, pod, c)
		if c.Resources.Requests.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("container %s: requests %v limits %v; want CPU and memory requests and a memory limit", c.Name, c.Resources.Requests, c.Resources.Limits)
		}
	}
	checkProbe(t, "readiness", main.ReadinessProbe, "/readyz")
	checkProbe(t, "liveness", main.LivenessProbe, "/livez")
	checkProbe(t, "startup", main.StartupProbe, "/livez")
	checkGracePeriod(t, pod, envOf(main))
	checkService(t, objs, d.Spec.Template.Labels, main)
	if !labels.SelectorFromSet(d.Spec.Selector.MatchLabels).Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Error("the Deployment's selector does not match its pods")
	}
	if objs.has("PodDisruptionBudget", "kiln") {
		pdb := objs.get(t, "PodDisruptionBudget", "kiln").(*policyv1.PodDisruptionBudget)
		if !labels.SelectorFromSet(pdb.Spec.Selector.MatchLabels).Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Error("the PDB does not select the pods")
		}
	}
}

func checkPodSecurity(t *testing.T, pod corev1.PodSpec) {
	t.Helper()
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v: want runAsNonRoot, a non-zero runAsUser and seccomp RuntimeDefault", psc)
	}
	for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot ||
			sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 ||
			sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("container %s securityContext %+v: want read-only root, no privilege escalation, non-root, ALL capabilities dropped, seccomp RuntimeDefault", c.Name, sc)
		}
	}
}

// checkRestricted evaluates the pod template against the Pod Security
// Standards' "restricted" level, latest version, with the admission
// plugin's own checks: the chart must install in a namespace that
// enforces it.
func checkRestricted(t *testing.T, meta metav1.ObjectMeta, pod corev1.PodSpec) {
	t.Helper()
	eval, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	lv := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
	res := psapolicy.AggregateCheckResults(eval.EvaluatePod(lv, &meta, &pod))
	if !res.Allowed {
		t.Errorf("the pod violates the restricted Pod Security Standard: %s", res.ForbiddenDetail())
	}
}

func envOf(c corev1.Container) map[string]corev1.EnvVar {
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	return env
}

// checkSecretEnv: every variable holding a secret is read from the
// existing Secret, none has a value in the manifest, and no variable is
// set twice.
func checkSecretEnv(t *testing.T, c corev1.Container) {
	t.Helper()
	seen := map[string]bool{}
	for _, e := range c.Env {
		if seen[e.Name] {
			t.Errorf("container %s sets %s twice", c.Name, e.Name)
		}
		seen[e.Name] = true
		if !secretName.MatchString(e.Name) {
			continue
		}
		if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != "kiln" {
			t.Errorf("container %s: %s is not read from the Secret kiln: %+v", c.Name, e.Name, e)
		}
	}
	if ref := envOf(c)["KILN_DATABASE_URL"].ValueFrom; ref == nil || ref.SecretKeyRef == nil {
		t.Errorf("container %s has no KILN_DATABASE_URL from the Secret", c.Name)
	}
	if envOf(c)["KILN_ENV"].Value != "production" {
		t.Errorf("container %s: KILN_ENV is not production", c.Name)
	}
}

// checkVolumes: the data dir and /tmp are writable volumes, emptyDirs
// with a size limit, in every container.
func checkVolumes(t *testing.T, pod corev1.PodSpec, c corev1.Container) {
	t.Helper()
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		if m.ReadOnly {
			continue
		}
		mounts[m.MountPath] = m.Name
	}
	if got := envOf(c)["KILN_DATA_DIR"].Value; got != dataDir {
		t.Errorf("container %s: KILN_DATA_DIR=%q, want %s", c.Name, got, dataDir)
	}
	for _, path := range []string{dataDir, tmpDir} {
		name, ok := mounts[path]
		if !ok {
			t.Errorf("container %s has no writable volume at %s", c.Name, path)
			continue
		}
		i := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == name })
		if i < 0 || pod.Volumes[i].EmptyDir == nil || pod.Volumes[i].EmptyDir.SizeLimit == nil {
			t.Errorf("volume %s at %s: want an emptyDir with a sizeLimit", name, path)
		}
	}
}

func checkProbe(t *testing.T, kind string, p *corev1.Probe, path string) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("no %s probe", kind)
		return
	}
	if p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "http" {
		t.Errorf("%s probe %s on port %s, want %s on http", kind, p.HTTPGet.Path, p.HTTPGet.Port.String(), path)
	}
}

// checkGracePeriod: Kubernetes waits for the whole drain (readiness
// failing, then requests in flight) before SIGKILL, with time left over to
// write the execution log.
func checkGracePeriod(t *testing.T, pod corev1.PodSpec, env map[string]corev1.EnvVar) {
	t.Helper()
	var total time.Duration
	for _, name := range []string{"KILN_DRAIN_DELAY", "KILN_SHUTDOWN_TIMEOUT"} {
		d, err := time.ParseDuration(env[name].Value)
		if err != nil || d <= 0 {
			t.Errorf("%s=%q: want a positive duration", name, env[name].Value)
		}
		total += d
	}
	if pod.TerminationGracePeriodSeconds == nil {
		t.Fatal("no terminationGracePeriodSeconds")
	}
	grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	if grace <= total {
		t.Errorf("terminationGracePeriodSeconds %v does not exceed the drain delay and shutdown timeout (%v)", grace, total)
	}
}

// checkService: the Service selects the pods and targets named ports the
// container has.
func checkService(t *testing.T, objs objects, podLabels map[string]string, c corev1.Container) {
	t.Helper()
	svc := objs.get(t, "Service", "kiln").(*corev1.Service)
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(podLabels)) {
		t.Error("the Service does not select the pods")
	}
	for _, p := range svc.Spec.Ports {
		if !slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == p.TargetPort.String() }) {
			t.Errorf("Service port %s targets %s, which the container does not have", p.Name, p.TargetPort.String())
		}
	}
}

// checkServiceMonitor: the ServiceMonitor selects the Service in the
// release's namespace, on a port the Service has, at /metrics.
func checkServiceMonitor(t *testing.T, objs objects, sm *monitoringv1.ServiceMonitor) monitoringv1.Endpoint {
	t.Helper()
	svc := objs.get(t, "Service", "kiln").(*corev1.Service)
	if !labels.SelectorFromSet(sm.Spec.Selector.MatchLabels).Matches(labels.Set(svc.Labels)) {
		t.Error("the ServiceMonitor does not select the Service")
	}
	if !slices.Equal(sm.Spec.NamespaceSelector.MatchNames, []string{namespace}) {
		t.Errorf("ServiceMonitor namespaces %v, want [%s]", sm.Spec.NamespaceSelector.MatchNames, namespace)
	}
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("ServiceMonitor has %d endpoints, want 1", len(sm.Spec.Endpoints))
	}
	ep := sm.Spec.Endpoints[0]
	if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port }) {
		t.Errorf("ServiceMonitor scrapes port %q, which the Service lacks", ep.Port)
	}
	if ep.Path != "/metrics" {
		t.Errorf("ServiceMonitor path %q", ep.Path)
	}
	return ep
}

// checkNetworkPolicy: the policy selects the pods, lets the ingress
// controller reach the http port and the monitoring namespace the metrics
// port, and lets the pods reach DNS, PostgreSQL, Redis and public
// addresses but not the cloud metadata service.
func checkNetworkPolicy(t *testing.T, np *networkingv1.NetworkPolicy, podLabels map[string]string) {
	t.Helper()
	if !labels.SelectorFromSet(np.Spec.PodSelector.MatchLabels).Matches(labels.Set(podLabels)) {
		t.Error("the NetworkPolicy does not select the pods")
	}
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}) {
		t.Errorf("policyTypes %v", np.Spec.PolicyTypes)
	}
	ingressPorts := map[string]string{}
	for _, r := range np.Spec.Ingress {
		for _, p := range r.Ports {
			var from []string
			for _, f := range r.From {
				from = append(from, fmt.Sprint(f.NamespaceSelector.MatchLabels))
			}
			ingressPorts[p.Port.String()] = strings.Join(from, ",")
		}
	}
	if !strings.Contains(ingressPorts["http"], "ingress-nginx") || !strings.Contains(ingressPorts["metrics"], "monitoring") {
		t.Errorf("ingress rules by port: %v; want http from ingress-nginx and metrics from monitoring", ingressPorts)
	}
	egressPorts := map[string]bool{}
	var public *networkingv1.IPBlock
	for _, r := range np.Spec.Egress {
		for _, p := range r.Ports {
			egressPorts[p.Port.String()] = true
		}
		for _, to := range r.To {
			if to.IPBlock != nil && to.IPBlock.CIDR == "0.0.0.0/0" {
				public = to.IPBlock
			}
		}
	}
	for _, port := range []string{"53", "5432", "6379"} {
		if !egressPorts[port] {
			t.Errorf("no egress rule for port %s (have %v)", port, egressPorts)
		}
	}
	if public == nil || !slices.Contains(public.Except, "169.254.0.0/16") || !slices.Contains(public.Except, "10.0.0.0/8") {
		t.Errorf("public egress %+v: want 0.0.0.0/0 except private and link-local ranges", public)
	}
}
