package docker

import "testing"

func BenchmarkSpecHash(b *testing.B) {
	c := wordpress(b).Containers[1]
	for b.Loop() {
		s, err := NewSpec(c, nil)
		if err != nil {
			b.Fatal(err)
		}
		js, err := s.Encode()
		if err != nil {
			b.Fatal(err)
		}
		HashBytes(js)
	}
}
