package manager

// SetPreloadBatchSize sets the number of secrets PreloadCache reads per
// batch until the returned function restores it.
func SetPreloadBatchSize(n int) (restore func()) {
	old := preloadBatchSize
	preloadBatchSize = n
	return func() { preloadBatchSize = old }
}
