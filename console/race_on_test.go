//go:build race

package console_test

// scaleSecrets is how many secrets TestListPageAtScale stores. The race
// detector makes the pure-Go SQLite driver about 50 times slower, so a
// -race run stores fewer; the bounds it asserts do not depend on the count.
const scaleSecrets = 3_000
