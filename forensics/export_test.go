package forensics

// SetMaxObservedAddresses bounds the IPv6 addresses read from a window to
// resolve a prefix, for a test; the returned func restores the bound.
func SetMaxObservedAddresses(n int) func() {
	old := maxObservedAddresses
	maxObservedAddresses = n
	return func() { maxObservedAddresses = old }
}
