package main

import (
	"regexp"
	"runtime/debug"
	"strings"
)

var pseudoVersion = regexp.MustCompile(`-(0\.)?\d{14}-[0-9a-f]{12}`)

// release is this source's release; the build adds which commit it is.
const release = "0.2.0"

// buildVersion is the version Crieur says it is (crieur version, NodeInfo,
// the User-Agent, the store's stamp): the module version when installed
// from a tag, else the release and the commit it was built from, so two
// builds of different code never say the same.
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return release
	}
	// A tag's version; Go makes up a pseudo-version (v0.0.0-date-commit)
	// for a build between tags, which says less than the release does.
	if v := info.Main.Version; v != "" && v != "(devel)" && !pseudoVersion.MatchString(v) {
		return strings.TrimPrefix(v, "v")
	}
	var rev string
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return release
	}
	v := release + "+" + rev[:min(12, len(rev))]
	if dirty {
		v += ".dirty"
	}
	return v
}
