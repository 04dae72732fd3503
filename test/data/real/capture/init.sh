#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
for m in xhci_pci ahci virtio_pci virtio_rng; do modprobe $m; done
sleep 3
echo "=====BEGIN uname"; uname -a; echo "=====END uname"
echo "=====BEGIN proc-interrupts"; cat /proc/interrupts; echo "=====END proc-interrupts"
echo "=====BEGIN lspci-vv"; lspci -vv; echo "=====END lspci-vv"
echo "=====BEGIN lspci-vvnn"; lspci -vvnn; echo "=====END lspci-vvnn"
echo "=====BEGIN VECTOR"; cat /sys/kernel/debug/irq/domains/VECTOR; echo "=====END VECTOR"
echo "=====READY-FOR-MONITOR"
sleep 120
echo "=====BEGIN proc-interrupts-late"; cat /proc/interrupts; echo "=====END proc-interrupts-late"
poweroff -f
