package admin

// Anti-affinity: replicas should not share a host with their master, and
// replicas of one master should not share a host with each other. The score
// follows redis-cli's: 10000 for every replica on its master's host, plus
// the size of every group of two or more replicas of one master that share
// a host without it. Zero is perfect.

const sameHostAsMaster = 10000

// affinityScore scores an assignment: masterOf maps replica -> master,
// hostOf maps every node to its host.
func affinityScore(masterOf map[string]string, hostOf map[string]string) int {
	type group struct {
		master   bool
		replicas int
	}
	groups := map[[2]string]*group{} // (host, master) -> nodes of that master's family on that host
	get := func(host, master string) *group {
		k := [2]string{host, master}
		if groups[k] == nil {
			groups[k] = &group{}
		}
		return groups[k]
	}
	for replica, master := range masterOf {
		get(hostOf[replica], master).replicas++
	}
	for k, g := range groups {
		if hostOf[k[1]] == k[0] {
			g.master = true
		}
	}
	score := 0
	for _, g := range groups {
		switch {
		case g.master && g.replicas > 0:
			score += sameHostAsMaster * g.replicas
		case !g.master && g.replicas > 1:
			score += g.replicas
		}
	}
	return score
}

// optimizeAffinity improves the assignment in place by swapping the masters
// of two replicas whenever that lowers the score, until no swap helps.
// Unlike redis-cli's random swaps it is deterministic, so the same nodes
// always give the same plan. It returns the final score.
func optimizeAffinity(replicas []string, masterOf, hostOf map[string]string) int {
	score := affinityScore(masterOf, hostOf)
	for improved := score > 0; improved && score > 0; {
		improved = false
		for i := 0; i < len(replicas) && score > 0; i++ {
			for j := i + 1; j < len(replicas); j++ {
				a, b := replicas[i], replicas[j]
				if masterOf[a] == masterOf[b] {
					continue
				}
				masterOf[a], masterOf[b] = masterOf[b], masterOf[a]
				if s := affinityScore(masterOf, hostOf); s < score {
					score, improved = s, true
					continue
				}
				masterOf[a], masterOf[b] = masterOf[b], masterOf[a]
			}
		}
	}
	return score
}
