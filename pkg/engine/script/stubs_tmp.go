package script

import lua "github.com/yuin/gopher-lua"

func openStruct(L *lua.LState)   {}
func openCmsgpack(L *lua.LState) {}
