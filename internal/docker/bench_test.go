package docker

import "testing"

func BenchmarkSpecHash(b *testing.B) {
	c := wordpress(b).Containers[1]
	for b.Loop() {
		if _, err := SpecHash(c); err != nil {
			b.Fatal(err)
		}
	}
}
