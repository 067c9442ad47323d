module github.com/kilnhq/kiln/toolkits/go

go 1.24
