// UVLoop: placeholder until the module gets real code.
