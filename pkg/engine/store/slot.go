package store

import "github.com/gocluster/gocluster/pkg/slots"

// SlotCount is the number of Redis Cluster hash slots.
const SlotCount = slots.Count

// KeySlot is the cluster hash slot of key (CRC16 with {hash tags}).
func KeySlot(key []byte) int { return slots.KeySlot(key) }
