package script

import lua "github.com/yuin/gopher-lua"

func openStruct(L *lua.LState)   {}
func openCmsgpack(L *lua.LState) {}

type libraries struct{}

func newLibraries() *libraries { return &libraries{} }
