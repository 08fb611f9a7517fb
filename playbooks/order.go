package playbooks

// Order returns the indexes of pb.Containers with every container after the
// ones it depends on, otherwise keeping the playbook's order. When depends_on
// has a cycle, cycle names it (a -> b -> a) and order is incomplete. Unknown
// names in depends_on are ignored here; validation reports them.
func Order(containers []Container) (order []int, cycle []string) {
	index := make(map[string]int, len(containers))
	for i, c := range containers {
		index[c.Name] = i
	}
	const (
		unseen = iota
		visiting
		done
	)
	state := make([]int, len(containers))
	var stack []int
	var visit func(i int) bool
	visit = func(i int) bool {
		switch state[i] {
		case done:
			return true
		case visiting:
			for j, s := range stack {
				if s == i {
					for _, k := range stack[j:] {
						cycle = append(cycle, containers[k].Name)
					}
					cycle = append(cycle, containers[i].Name)
					break
				}
			}
			return false
		}
		state[i] = visiting
		stack = append(stack, i)
		for _, dep := range containers[i].DependsOn {
			if j, ok := index[dep]; ok && !visit(j) {
				return false
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
		order = append(order, i)
		return true
	}
	for i := range containers {
		if !visit(i) {
			return order, cycle
		}
	}
	return order, nil
}
