// Package suggest finds the likely intended word for a typo: the one home of
// "did you mean" for playbook keys, berth.yaml settings, commands and flags.
package suggest

// Closest returns the known word closest to word when it is a likely typo,
// else "".
func Closest(word string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := Distance(word, k); d < bestD && d <= len(k)/2 {
			best, bestD = k, d
		}
	}
	return best
}

// Distance is the Damerau-Levenshtein (optimal string alignment) distance,
// so a swapped pair of letters ("imgae") counts as one edit.
func Distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
