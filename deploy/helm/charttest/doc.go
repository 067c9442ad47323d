// Package charttest tests the Helm chart in ../kiln and the repository's
// Dockerfile: helm lint, rendering with several values files (and failing
// clearly without the required ones), every rendered object decoded
// strictly into its Kubernetes API type, and the Dockerfile parsed with
// BuildKit's parser. It is a module of its own so that the service's
// module does not depend on Helm or Kubernetes; it has tests only.
package charttest
