package db

// SetRotateHook lets tests interrupt RotateMasterKey after a number of keys, as a crash would.
func SetRotateHook(f func(done int) error) { rotateHook = f }
