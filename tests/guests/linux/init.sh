#!/bin/busybox sh
# /init of the Linux test guest's initramfs (tests/guests/linux/build.sh). Mounts proc, sys
# and a tmpfs, runs a small deterministic workload, prints CFLOW-WORKLOAD-DONE and powers off.
# Kernel parameters of the form NAME=VALUE reach here as environment variables:
#   CFLOW_LOOPS   iterations of /workload's counted loop (default 200000; it forks, so twice)
/bin/busybox mkdir -p /proc /sys /tmp /dev
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs dev /dev 2>/dev/null
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp
echo "CFLOW-WORKLOAD-START cpus=$(grep -c ^processor /proc/cpuinfo)"
loops=${CFLOW_LOOPS:-200000}
# a shell loop and some file I/O in tmpfs with busybox
i=0
while [ $i -lt 100 ]; do
    echo "line $i" >>/tmp/lines
    i=$((i + 1))
done
lines=$(wc -l </tmp/lines)
sum=$(cat /tmp/lines | md5sum | cut -c1-8)
out=$(/workload "$loops" /tmp)
status=$?
echo "$out"
if [ $status -eq 0 ] && [ "$lines" = 100 ]; then
    echo "CFLOW-WORKLOAD-DONE loops=$loops lines=$lines md5=$sum"
else
    echo "CFLOW-WORKLOAD-FAILED status=$status lines=$lines"
fi
poweroff -f
