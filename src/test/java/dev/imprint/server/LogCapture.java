package dev.imprint.server;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** Captures what one logger publishes from {@code level} up, until closed. */
public final class LogCapture extends Handler implements AutoCloseable {
    private final List<LogRecord> records = new CopyOnWriteArrayList<>();
    private final Logger logger;
    private final Level previousLevel;

    public LogCapture(Class<?> loggerOf, Level level) {
        this.logger = Logger.getLogger(loggerOf.getName());
        this.previousLevel = logger.getLevel();
        setLevel(level);
        logger.setLevel(level);
        logger.addHandler(this);
    }

    public List<LogRecord> records() {
        return List.copyOf(records);
    }

    @Override
    public void publish(LogRecord record) {
        records.add(record);
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
        logger.removeHandler(this);
        logger.setLevel(previousLevel);
    }
}
