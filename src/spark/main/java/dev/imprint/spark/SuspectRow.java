package dev.imprint.spark;

import java.io.Serializable;

/**
 * One row of a suspect table as the job reads it, whatever the input format: the suspect's id,
 * where the row is (file and row index, to order a suspect's probes as its file has them and to
 * name the row in errors), its probe and its values. A Java bean, so Spark reads {@code values}
 * straight into a float array.
 */
public final class SuspectRow implements Serializable {
    private static final long serialVersionUID = 1L;

    private String suspectId;
    private String file;
    private long row;
    private Long probe;
    private float[] values;
    private boolean nullValue;

    public SuspectRow() {
    }

    SuspectRow(String suspectId, String file, long row, Long probe, float[] values) {
        this.suspectId = suspectId;
        this.file = file;
        this.row = row;
        this.probe = probe;
        this.values = values;
    }

    public String getSuspectId() {
        return suspectId;
    }

    public void setSuspectId(String suspectId) {
        this.suspectId = suspectId;
    }

    public String getFile() {
        return file;
    }

    public void setFile(String file) {
        this.file = file;
    }

    public long getRow() {
        return row;
    }

    public void setRow(long row) {
        this.row = row;
    }

    public Long getProbe() {
        return probe;
    }

    public void setProbe(Long probe) {
        this.probe = probe;
    }

    public float[] getValues() {
        return values;
    }

    public void setValues(float[] values) {
        this.values = values;
    }

    /** Whether {@code values} held a null entry in the input (the array then holds 0 there). */
    public boolean getNullValue() {
        return nullValue;
    }

    public void setNullValue(boolean nullValue) {
        this.nullValue = nullValue;
    }
}
