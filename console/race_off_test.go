//go:build !race

package console_test

// scaleSecrets is how many secrets TestListPageAtScale stores.
const scaleSecrets = 100_000
