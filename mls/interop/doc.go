// Package interop holds the live interoperability test of package mls
// against an independent MLS implementation, ts-mls (TypeScript), pinned in
// package.json and package-lock.json beside this file.
//
// The test (interop_test.go) starts driver.mjs under Node and alternates
// this project's mls package and the ts-mls clients held by the driver, in
// both directions: only MLS wire objects cross between the two (KeyPackage,
// Welcome, PublicMessage and PrivateMessage, ratchet trees), and at every
// epoch every member's epoch authenticator and an exporter value must be
// equal. Run it with
//
//	go test ./mls/... -run Interop -v
//
// It runs "npm ci" here when node_modules is missing. Without Node (or when
// npm ci fails) it is skipped, unless the CI environment variable is set,
// in which case it fails. The package has no code of its own.
package interop
