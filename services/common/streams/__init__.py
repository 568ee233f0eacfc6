"""Redis Streams through FastStream, as every livecart service uses them: the broker and
its wire format, the consumer group (reader, claimer, upkeep), delivery outcomes and
dead letters. FastStream's internals are touched only in `faststream_internals`."""
