"""Helpers the tests share (test modules import these, never each other).

slack          the sandbox workspace's ids (REQUESTER, APPROVER_1, CHANNEL, ...) and what people
               were shown: buttons, draft_messages, open_drafts, thread_texts, told, web_client
waiting        eventually(): poll a condition against a deadline instead of sleeping
flows          a request through Slack: start_via_slack, waiting_draft, reply_in_thread
bot            the bot under test on real HTTP or Socket Mode: bot_settings, running_bot, worker_and_bot,
               worker_and_socket_mode_bot
temporal       the time-skipping server, a worker, start_report, wait_for_phase, closed, silent_server
forged         signed interactions the sandbox's UI would never send (block_actions, view_submission)
processes      the worker and the bot as real child processes (ChildProcess, BotProcess)
web            an app for the sandbox to deliver to, over HTTP or Socket Mode
block_checks   Block Kit within Slack's limits
browser        Chromium through Playwright (fixtures, open_sandbox)
models         a model provider that records what each agent was asked
paths          ROOT and HISTORIES
record_histories  re-records tests/histories/ for the replay test
"""
