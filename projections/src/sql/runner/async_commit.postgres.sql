SELECT set_config('synchronous_commit', 'off', true), set_config('client_min_messages', 'warning', true)
