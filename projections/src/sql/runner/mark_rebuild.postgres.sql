SELECT set_config('application_name', 'consentry-rebuild', true), set_config('client_min_messages', 'warning', true)
