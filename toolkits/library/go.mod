module github.com/kilnhq/kiln/toolkits/library

go 1.24

require github.com/kilnhq/kiln/toolkits/go v0.0.0

replace github.com/kilnhq/kiln/toolkits/go => ../go
